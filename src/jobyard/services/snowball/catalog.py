"""Fixed facts of the Snow Family: device types and capacities, on-device service versions, images."""

from __future__ import annotations

# Device type -> capacities it can be ordered with (CreateJob's documented table; NoPreference always fits).
CAPACITIES: dict[str, frozenset[str]] = {
    "SNC1_SSD": frozenset({"T14"}),
    "SNC1_HDD": frozenset({"T8"}),
    "EDGE_S": frozenset({"T98"}),
    "EDGE_CG": frozenset({"T42"}),
    "EDGE_C": frozenset({"T42"}),
    "EDGE": frozenset({"T100", "T98"}),  # T100 was replaced by T98
    "STANDARD": frozenset({"T50", "T80"}),
    "V3_5C": frozenset({"T32"}),
    "V3_5S": frozenset({"T240"}),
    "RACK_5U_C": frozenset({"T13"}),
}

# Regions a device type is limited to (CreateJob API reference: the original Snowball, STANDARD, "is only
# available in the Ningxia, Beijing, and Singapore Amazon Web Services Region"); other types are not limited.
REGIONS: dict[str, frozenset[str]] = {
    "STANDARD": frozenset({"cn-northwest-1", "cn-north-1", "ap-southeast-1"}),
}

# ListJobs and DescribeAddresses called in a US Region "return jobs [addresses] from the list of all jobs
# [addresses] associated with this account in all US regions" (their API references). GovCloud is a partition
# of its own, so it is not among them.
US_REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2")


def listed_together(region: str) -> tuple[str, ...] | None:
    """The regions whose jobs and addresses a list in ``region`` shows, or None for the region alone."""
    return US_REGIONS if region in US_REGIONS else None


# Snowball Edge devices: the only family that can form clusters.
CLUSTER_TYPES = frozenset({"EDGE", "EDGE_C", "EDGE_CG", "EDGE_S", "V3_5C", "V3_5S"})
# Snowcone devices: small, shipped to customers, Wi-Fi option (SnowconeDeviceConfiguration).
SNOWCONE_TYPES = frozenset({"SNC1_HDD", "SNC1_SSD"})

DEFAULT_SNOWBALL_TYPE = "EDGE"
DEFAULT_CLUSTER_SIZE = 5          # "Each cluster supports five nodes" unless the cluster says otherwise
MAX_CLUSTER_SIZE = 16
SNOWBALL_LIMIT = 1                # GetSnowballUsage: default service limit of devices at one time

# On-device service versions (ListServiceVersions). EKS Anywhere versions depend on Kubernetes versions.
KUBERNETES_VERSIONS = ["1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27", "1.28"]
EKS_ANYWHERE_VERSIONS = {  # EKS Anywhere release -> Kubernetes versions it supports
    "0.13": ["1.21", "1.22", "1.23", "1.24"],
    "0.14": ["1.22", "1.23", "1.24", "1.25"],
    "0.15": ["1.23", "1.24", "1.25", "1.26"],
    "0.16": ["1.24", "1.25", "1.26", "1.27"],
    "0.17": ["1.24", "1.25", "1.26", "1.27", "1.28"],
}

# AMIs from the Marketplace that Snow devices support (ListCompatibleImages).
COMPATIBLE_IMAGES = [
    ("ami-0a1b2c3d4e5f60718", "Amazon Linux 2 (HVM)"),
    ("ami-0b2c3d4e5f6071829", "Ubuntu Server 20.04 LTS - Focal"),
    ("ami-0c3d4e5f607182930", "Ubuntu Server 22.04 LTS - Jammy"),
    ("ami-0d4e5f60718293a41", "Ubuntu Server 16.04 LTS - Xenial (HVM)"),
    ("ami-0e5f60718293a4b52", "Amazon Linux 2 with .NET 6"),
]
