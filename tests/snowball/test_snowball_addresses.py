from snowball_helpers import ADDRESS, create_address
from support import expect_error


def test_create_and_describe_address(snowball):
    address_id = create_address(snowball)
    assert address_id.startswith("ADID") and len(address_id) == 40
    address = snowball.describe_address(AddressId=address_id)["Address"]
    assert address == {"AddressId": address_id, **ADDRESS}


def test_prefecture_and_landmark_are_ignored(snowball):
    address_id = create_address(snowball, PrefectureOrDistrict="Kanto", Landmark="Big tree")
    address = snowball.describe_address(AddressId=address_id)["Address"]
    assert "PrefectureOrDistrict" not in address and "Landmark" not in address


def test_country_written_as_usa_is_accepted(snowball):
    create_address(snowball, Country="USA")


def test_incomplete_address_is_invalid(snowball):
    incomplete = {k: v for k, v in ADDRESS.items() if k != "City"}
    error = expect_error(snowball, "CreateAddress", "InvalidAddressException", 400, Address=incomplete)
    assert "City" in error.response["Error"]["Message"]


def test_address_outside_the_region_is_unsupported(snowball):
    expect_error(snowball, "CreateAddress", "UnsupportedAddressException", 400, Address={**ADDRESS, "Country": "FR"})


def test_unknown_address(snowball):
    error = expect_error(snowball, "DescribeAddress", "InvalidResourceException", 400,
                         AddressId="ADID00000000-0000-0000-0000-000000000000")
    assert error.response["ResourceType"] == "ADDRESS"


def test_describe_addresses_pages(snowball):
    created = [create_address(snowball, Name=f"Name {i}") for i in range(5)]
    first = snowball.describe_addresses(MaxResults=2)
    assert [a["AddressId"] for a in first["Addresses"]] == created[:2]
    seen = [a["AddressId"] for page in snowball.get_paginator("describe_addresses").paginate(
        PaginationConfig={"PageSize": 2}) for a in page["Addresses"]]
    assert seen == created
