"""AWS Snowball (Snow Family job management API, 2016-06-30): every operation.

Errors are the modelled ones, all HTTP 400 as the API reference lists them. Input constraints from the
model (lengths, patterns, enums, MaxResults 0–100) are checked by the codec before an operation runs.
"""

from __future__ import annotations

import uuid
from functools import partial

from ...clock import US, to_datetime, from_datetime
from ...lifecycle import draw_seconds
from ...objects import rules
from ...objects.urls import Download
from ...store import Resource
from ..base import Context, Service, operation
from . import catalog, jobs, states
from .errors import ADDRESS, CLUSTER, ERRORS, JOB, PRICING, invalid_combination, invalid_resource_token, invalid_state

DEFAULT_PAGE = 100  # MaxResults absent or 0

PRICING_TERMS = {"OneMonth": 30 * states.DAY, "OneYear": 365 * states.DAY, "ThreeYear": 3 * 365 * states.DAY}

# Countries a region ships to ("The address you provide must be located within the serviceable area
# of your region"); regions not listed accept any country.
_EU = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
       "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
SERVICEABLE = {
    "us-": {"US"}, "ca-": {"CA"}, "eu-west-2": {"GB"}, "eu-": _EU, "ap-southeast-2": {"AU"},
    "ap-northeast-1": {"JP"}, "ap-northeast-2": {"KR"}, "ap-south-1": {"IN"}, "ap-southeast-1": {"SG"},
    "sa-east-1": {"BR"}, "cn-": {"CN"}, "ap-east-1": {"HK"}, "me-": {"AE", "BH"}, "af-south-1": {"ZA"},
}
COUNTRY_ALIASES = {"USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "UK": "GB",
                   "UNITED KINGDOM": "GB", "GBR": "GB", "CAN": "CA", "AUS": "AU", "DEU": "DE", "FRA": "FR",
                   "JPN": "JP", "IND": "IN", "IRL": "IE", "BRA": "BR", "SGP": "SG", "KOR": "KR"}
ADDRESS_REQUIRED = ("Name", "Street1", "City", "StateOrProvince", "Country", "PostalCode", "PhoneNumber")


def _limit(params: dict) -> int:
    return params.get("MaxResults") or DEFAULT_PAGE


class SnowballService(Service):
    model_name = "snowball"
    signing_names = ("snowball",)
    errors = ERRORS

    def transitions(self) -> dict:
        return {JOB: jobs.advance}

    def signed_urls(self) -> dict:
        return {"manifest": Download(self._manifest), "software-update": Download(self._software_update),
                "return-label": Download(self._return_label),
                **{name: Download(partial(self._job_log, name))
                   for name in ("completion-report", "success-log", "failure-log")}}

    # -- lookups -------------------------------------------------------------------------------

    def _check_address(self, ctx: Context, address_id: str | None) -> None:
        if address_id is not None:
            ctx.scope.require(ADDRESS, address_id)

    def _secret(self, ctx: Context) -> str:
        # Per-job secrets (unlock code, manifest) derive from the store's token secret and the job id.
        return ctx.signer.encode("snowball-device", ("snowball",))

    # -- addresses -----------------------------------------------------------------------------

    @operation("CreateAddress")
    def create_address(self, ctx: Context, params: dict) -> dict:
        address = dict(params["Address"])
        address.pop("AddressId", None)
        missing = [m for m in ADDRESS_REQUIRED if not str(address.get(m) or "").strip()]
        if missing:
            raise ERRORS.error("InvalidAddressException",
                               f"The address is not valid: {', '.join(missing)} must be provided.")
        country = COUNTRY_ALIASES.get(address["Country"].strip().upper(), address["Country"].strip().upper())
        if len(country) != 2 or not country.isalpha():
            raise ERRORS.error("InvalidAddressException", f"The country {address['Country']} is not valid.")
        allowed = next((c for prefix, c in SERVICEABLE.items() if ctx.region.startswith(prefix)), None)
        if allowed is not None and country not in allowed:
            raise ERRORS.error("UnsupportedAddressException",
                               f"The address is outside the serviceable area of {ctx.region}.")
        # PrefectureOrDistrict and Landmark are accepted but ignored, as AWS documents.
        address.pop("PrefectureOrDistrict", None)
        address.pop("Landmark", None)
        address_id = f"ADID{uuid.uuid4()}"
        ctx.scope.add(ADDRESS, address_id, doc=address)
        return {"AddressId": address_id}

    @operation("DescribeAddress")
    def describe_address(self, ctx: Context, params: dict) -> dict:
        address = ctx.scope.require(ADDRESS, params["AddressId"])
        return {"Address": {"AddressId": address.id, **address.doc}}

    @operation("DescribeAddresses")
    def describe_addresses(self, ctx: Context, params: dict) -> dict:
        page = ctx.scope.page(ADDRESS, limit=_limit(params), token=params.get("NextToken"),
                              regions=catalog.listed_together(ctx.region))
        out = {"Addresses": [{"AddressId": a.id, **a.doc} for a in page.items]}
        if page.next_token:
            out["NextToken"] = page.next_token
        return out

    @operation("ListPickupLocations")
    def list_pickup_locations(self, ctx: Context, params: dict) -> dict:
        locations = _pickup_locations(ctx.region)
        page = ctx.scope.page_fixed(locations, limit=_limit(params), token=params.get("NextToken"),
                                    invalid_token=invalid_resource_token)
        return _with_token({"Addresses": page.items}, page.next_token)

    # -- jobs ----------------------------------------------------------------------------------

    @operation("CreateJob")
    def create_job(self, ctx: Context, params: dict) -> dict:
        if params.get("ClusterId"):
            return {"JobId": self._create_cluster_node(ctx, params).id}
        job_type = params.get("JobType")
        if job_type is None:
            raise invalid_combination("JobType must be provided unless the job is for a cluster (ClusterId).")
        if params.get("AddressId") is None:
            raise invalid_combination("AddressId must be provided unless the job is for a cluster (ClusterId).")
        self._check_address(ctx, params["AddressId"])
        self._check_address(ctx, params.get("ForwardingAddressId"))
        doc = {k: params[k] for k in jobs.JOB_INPUT_MEMBERS if params.get(k) is not None}
        doc.setdefault("SnowballType", catalog.DEFAULT_SNOWBALL_TYPE)
        self._check_job_rules(ctx, doc)
        if doc.get("PickupDetails", {}).get("IdentificationExpirationDate") is not None:
            pickup = doc["PickupDetails"]
            doc["PickupDetails"] = {**pickup, "IdentificationExpirationDate":
                                    from_datetime(pickup["IdentificationExpirationDate"])}
        if job_type == "EXPORT":
            doc["IsMaster"] = True
        job = jobs.new_job(ctx.account, ctx.region, ctx.now_us, doc)
        ctx.scope.insert(job)
        if doc.get("LongTermPricingId"):
            self._attach_pricing(ctx, doc["LongTermPricingId"], job.id)
        return {"JobId": job.id}

    def _check_job_rules(self, ctx: Context, doc: dict) -> None:
        job_type, snowball_type = doc["JobType"], doc["SnowballType"]
        if job_type in ("IMPORT", "EXPORT") and not doc.get("RoleARN"):
            raise invalid_combination(f"A RoleARN is required for {job_type} jobs.")
        buckets = (doc.get("Resources") or {}).get("S3Resources") or []
        if job_type == "EXPORT" and not buckets:
            raise invalid_combination("EXPORT jobs need at least one S3 resource to export from.")
        if job_type == "IMPORT" and any(b.get("KeyRange") and any(b["KeyRange"].values()) for b in buckets):
            raise invalid_combination("KeyRange can only be used with EXPORT jobs.")
        capacity = doc.get("SnowballCapacityPreference")
        if capacity and capacity != "NoPreference" and capacity not in catalog.CAPACITIES.get(snowball_type, ()):
            raise invalid_combination(f"The capacity {capacity} is not available for SnowballType {snowball_type}.")
        if ctx.region not in catalog.REGIONS.get(snowball_type, (ctx.region,)):
            raise invalid_combination(f"SnowballType {snowball_type} is not available in {ctx.region}.")
        if doc.get("DeviceConfiguration") and snowball_type not in catalog.SNOWCONE_TYPES:
            raise invalid_combination("DeviceConfiguration applies to Snowcone devices only.")
        if doc.get("LongTermPricingId"):
            pricing = ctx.scope.require(PRICING, doc["LongTermPricingId"])
            if pricing.doc.get("SnowballType") and pricing.doc["SnowballType"] != snowball_type:
                raise invalid_combination("The long-term pricing was bought for another SnowballType.")

    def _create_cluster_node(self, ctx: Context, params: dict) -> Resource:
        cluster = ctx.scope.require(CLUSTER, params["ClusterId"])
        nodes = [n for n in jobs.cluster_nodes(ctx.scope, cluster) if n.state != states.CANCELLED]
        if len(nodes) >= cluster.doc["ClusterSize"]:
            raise ERRORS.error("ClusterLimitExceededException",
                               f"Cluster {cluster.id} already has all its {cluster.doc['ClusterSize']} node jobs.")
        if cluster.state != states.AWAITING_QUORUM:
            # CreateJob models no InvalidJobStateException: a cluster that takes no nodes is an invalid resource.
            raise ERRORS.error("InvalidResourceException", f"Cluster {cluster.id} is {cluster.state}; node jobs "
                               "can only be added while it is AwaitingQuorum.", ResourceType="CLUSTER")
        node = self._new_node(ctx, cluster, params.get("Description"))
        jobs.start_cluster_if_complete(ctx.scope, cluster, ctx.now_us)
        return node

    def _new_node(self, ctx: Context, cluster: Resource, description: str | None) -> Resource:
        doc = {k: cluster.doc[k] for k in jobs.CLUSTER_INHERITED if cluster.doc.get(k) is not None}
        doc["ClusterId"] = cluster.id
        if description:
            doc["Description"] = description
        # Nodes wait in New, unscheduled, until the cluster has all of them.
        node = jobs.new_job(ctx.account, ctx.region, ctx.now_us, doc, parent=cluster.id, schedule=False)
        ctx.scope.insert(node)
        return node

    @operation("DescribeJob")
    def describe_job(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        out = {"JobMetadata": self._metadata(ctx, job)}
        if job.doc.get("IsMaster"):
            out["SubJobMetadata"] = [self._metadata(ctx, part)
                                     for part in ctx.scope.children(JOB, job.id)]
        return out

    def _metadata(self, ctx: Context, job: Resource) -> dict:
        logs = None
        if job.state == states.COMPLETE and job.doc["JobType"] in ("IMPORT", "EXPORT") and not job.doc.get("IsMaster"):
            expires = ctx.now_us + int(states.MANIFEST_URL_VALID * US)
            args = {"job": job.id}
            logs = {"JobCompletionReportURI": ctx.signed_url("completion-report", args, expires),
                    "JobSuccessLogURI": ctx.signed_url("success-log", args, expires),
                    "JobFailureLogURI": ctx.signed_url("failure-log", args, expires)}
        return jobs.metadata(job, ctx.now_us, logs)

    @operation("ListJobs")
    def list_jobs(self, ctx: Context, params: dict) -> dict:
        page = ctx.scope.page(JOB, limit=_limit(params), token=params.get("NextToken"),
                              regions=catalog.listed_together(ctx.region))
        return _with_token({"JobListEntries": [jobs.list_entry(j) for j in page.items]}, page.next_token)

    @operation("UpdateJob")
    def update_job(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        if job.state != states.NEW:
            raise invalid_state(f"Job {job.id} is {job.state}; it can only be updated while New.")
        self._check_address(ctx, params.get("AddressId"))
        self._check_address(ctx, params.get("ForwardingAddressId"))
        changes = {k: v for k, v in params.items() if k != "JobId" and v is not None}
        if job.doc.get("ClusterId") and set(changes) - {"Description"}:
            raise invalid_combination("Node jobs of a cluster take their settings from the cluster; "
                                      "use UpdateCluster.")
        doc = {**job.doc, **changes}
        self._check_job_rules(ctx, doc)
        if "PickupDetails" in changes and changes["PickupDetails"].get("IdentificationExpirationDate") is not None:
            doc["PickupDetails"] = {**changes["PickupDetails"], "IdentificationExpirationDate":
                                    from_datetime(changes["PickupDetails"]["IdentificationExpirationDate"])}
        job.doc = doc
        ctx.scope.save(job)
        return {}

    @operation("CancelJob")
    def cancel_job(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        if job.state != states.NEW:
            raise invalid_state(f"Job {job.id} is {job.state}; a job can only be cancelled while New.")
        self._cancel(ctx, job)
        return {}

    def _cancel(self, ctx: Context, job: Resource) -> None:
        job.state, job.next_due_us = states.CANCELLED, None
        job.doc.setdefault("Entered", {})[states.CANCELLED] = ctx.now_us
        ctx.scope.save(job)

    @operation("UpdateJobShipmentState")
    def update_job_shipment_state(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        shipment = params["ShipmentState"]
        # RECEIVED: the customer has the device; RETURNED: the customer has handed it to the carrier.
        moves = {"RECEIVED": (states.IN_TRANSIT_TO_CUSTOMER, states.WITH_CUSTOMER),
                 "RETURNED": (states.WITH_CUSTOMER, states.IN_TRANSIT_TO_AWS)}
        source, target = moves[shipment]
        if job.state == target:
            return {}
        if job.state != source:
            raise invalid_state(f"Job {job.id} is {job.state}; shipment state {shipment} needs {source}.")
        jobs.enter(ctx.scope, job, target, ctx.now_us)
        ctx.scope.save(job)
        return {}

    # -- device access: manifest, unlock code, software updates --------------------------------

    def _with_customer(self, job: Resource, what: str) -> None:
        if job.state != states.WITH_CUSTOMER:
            raise invalid_state(f"Job {job.id} is {job.state}; the {what} is only available while WithCustomer.")

    @operation("GetJobManifest")
    def get_job_manifest(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        self._with_customer(job, "manifest")
        expires = ctx.now_us + int(states.MANIFEST_URL_VALID * US)
        url = ctx.signed_url("manifest", {"job": job.id}, expires)
        return {"ManifestURI": url}

    @operation("GetJobUnlockCode")
    def get_job_unlock_code(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        self._with_customer(job, "unlock code")
        return {"UnlockCode": jobs.unlock_code(job.id, self._secret(ctx))}

    @operation("GetSoftwareUpdates")
    def get_software_updates(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        self._with_customer(job, "software update")
        expires = ctx.now_us + int(states.UPDATES_URL_VALID * US)
        url = ctx.signed_url("software-update", {"job": job.id}, expires)
        return {"UpdatesURI": url}

    # -- what the signed URLs serve ----------------------------------------------------------------

    def _url_job(self, ctx: Context, args: dict) -> Resource:
        job = ctx.scope.get(JOB, args["job"])
        if job is None:
            raise rules.no_such_key()
        return job

    def _manifest(self, ctx: Context, args: dict) -> tuple[str, bytes]:
        job = self._url_job(ctx, args)
        return "application/octet-stream", jobs.manifest_bytes(job.id, self._secret(ctx))

    def _software_update(self, ctx: Context, args: dict) -> tuple[str, bytes]:
        return "application/octet-stream", b"SNOWBALL-UPDATE\x00" + self._url_job(ctx, args).id.encode()

    def _return_label(self, ctx: Context, args: dict) -> tuple[str, bytes]:
        return "application/pdf", _label_pdf(self._url_job(ctx, args))

    def _job_log(self, name: str, ctx: Context, args: dict) -> tuple[str, bytes]:
        return "text/csv", _job_log(self._url_job(ctx, args), name)

    # -- return shipping labels ----------------------------------------------------------------

    @operation("CreateReturnShippingLabel")
    def create_return_shipping_label(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        if job.state != states.WITH_CUSTOMER:
            raise invalid_state(f"Job {job.id} is {job.state}; a return label needs the device WithCustomer.")
        label = job.doc.get("ReturnLabel")
        if label is not None:
            if ctx.now_us < label["ReadyAt"]:
                raise ERRORS.error("ConflictException", "A return shipping label is already being created.",
                                   ConflictResource=job.id)
            if ctx.now_us < label["ExpiresAt"]:
                raise ERRORS.error("ReturnShippingLabelAlreadyExistsException",
                                   "A valid return shipping label already exists for this job.")
        ready = ctx.now_us + int(draw_seconds(job.id, f"label@{ctx.now_us}", *states.LABEL_READY) * US)
        job.doc["ReturnLabel"] = {"ReadyAt": ready, "ExpiresAt": ready + int(states.LABEL_VALID * US),
                                  "ShippingOption": params.get("ShippingOption") or job.doc.get("ShippingOption")}
        ctx.scope.save(job)
        return {"Status": "InProgress"}

    @operation("DescribeReturnShippingLabel")
    def describe_return_shipping_label(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        label = job.doc.get("ReturnLabel")
        if label is None:
            raise invalid_state(f"No return shipping label has been requested for job {job.id}.")
        if ctx.now_us < label["ReadyAt"]:
            return {"Status": "InProgress"}
        out = {"Status": "Succeeded", "ExpirationDate": to_datetime(label["ExpiresAt"])}
        if ctx.now_us < label["ExpiresAt"]:
            out["ReturnShippingLabelURI"] = ctx.signed_url("return-label", {"job": job.id}, label["ExpiresAt"])
        return out

    # -- clusters ------------------------------------------------------------------------------

    @operation("CreateCluster")
    def create_cluster(self, ctx: Context, params: dict) -> dict:
        if params["JobType"] != "LOCAL_USE":
            raise invalid_combination("The only job type supported for clusters is LOCAL_USE.")
        if params["SnowballType"] not in catalog.CLUSTER_TYPES:
            raise invalid_combination(f"SnowballType {params['SnowballType']} cannot form a cluster.")
        self._check_address(ctx, params["AddressId"])
        self._check_address(ctx, params.get("ForwardingAddressId"))
        initial = params.get("InitialClusterSize") or 0
        s3_size = ((params.get("OnDeviceServiceConfiguration") or {}).get("S3OnDeviceService") or {}).get("ServiceSize")
        if s3_size and initial and initial != s3_size and not params.get("ForceCreateJobs"):
            raise invalid_combination(f"InitialClusterSize {initial} does not match the S3 service size {s3_size}; "
                                      "set ForceCreateJobs to create it anyway.")
        for pricing_id in params.get("LongTermPricingIds") or []:
            ctx.scope.require(PRICING, pricing_id)
        capacity = params.get("SnowballCapacityPreference")
        if capacity and capacity != "NoPreference" and capacity not in catalog.CAPACITIES[params["SnowballType"]]:
            raise invalid_combination(f"The capacity {capacity} is not available for {params['SnowballType']}.")
        doc = {k: v for k, v in params.items() if v is not None and k not in ("InitialClusterSize", "ForceCreateJobs")}
        doc["ClusterSize"] = min(catalog.MAX_CLUSTER_SIZE, initial or s3_size or catalog.DEFAULT_CLUSTER_SIZE)
        cluster = ctx.scope.add(CLUSTER, jobs.new_cluster_id(), state=states.AWAITING_QUORUM, doc=doc)
        nodes = []
        for index in range(initial):
            name = f"{doc['Description']}-node-{index + 1:03d}" if doc.get("Description") else None
            nodes.append(self._new_node(ctx, cluster, name))
        jobs.start_cluster_if_complete(ctx.scope, cluster, ctx.now_us)
        out = {"ClusterId": cluster.id}
        if nodes:
            out["JobListEntries"] = [jobs.list_entry(n) for n in nodes]
        return out

    @operation("DescribeCluster")
    def describe_cluster(self, ctx: Context, params: dict) -> dict:
        return {"ClusterMetadata": jobs.cluster_metadata(ctx.scope.require(CLUSTER, params["ClusterId"]))}

    @operation("ListClusters")
    def list_clusters(self, ctx: Context, params: dict) -> dict:
        page = ctx.scope.page(CLUSTER, limit=_limit(params), token=params.get("NextToken"))
        return _with_token({"ClusterListEntries": [jobs.cluster_entry(c) for c in page.items]}, page.next_token)

    @operation("ListClusterJobs")
    def list_cluster_jobs(self, ctx: Context, params: dict) -> dict:
        cluster = ctx.scope.require(CLUSTER, params["ClusterId"])
        page = ctx.scope.page(JOB, limit=_limit(params), token=params.get("NextToken"),
                         parent=cluster.id)
        return _with_token({"JobListEntries": [jobs.list_entry(j) for j in page.items]}, page.next_token)

    @operation("UpdateCluster")
    def update_cluster(self, ctx: Context, params: dict) -> dict:
        cluster = ctx.scope.require(CLUSTER, params["ClusterId"])
        if cluster.state != states.AWAITING_QUORUM:
            raise invalid_state(f"Cluster {cluster.id} is {cluster.state}; it can only be updated while "
                                "AwaitingQuorum.")
        self._check_address(ctx, params.get("AddressId"))
        self._check_address(ctx, params.get("ForwardingAddressId"))
        changes = {k: v for k, v in params.items() if k != "ClusterId" and v is not None}
        cluster.doc.update(changes)
        ctx.scope.save(cluster)
        # Node jobs inherit the cluster's settings.
        for node in jobs.cluster_nodes(ctx.scope, cluster):
            node.doc.update({k: v for k, v in changes.items() if k in jobs.CLUSTER_INHERITED})
            ctx.scope.save(node)
        return {}

    @operation("CancelCluster")
    def cancel_cluster(self, ctx: Context, params: dict) -> dict:
        cluster = ctx.scope.require(CLUSTER, params["ClusterId"])
        if cluster.state != states.AWAITING_QUORUM:
            raise invalid_state(f"Cluster {cluster.id} is {cluster.state}; it can only be cancelled while "
                                "AwaitingQuorum.")
        cluster.state = states.CANCELLED
        ctx.scope.save(cluster)
        for node in jobs.cluster_nodes(ctx.scope, cluster):
            if node.state not in states.TERMINAL:
                self._cancel(ctx, node)
        return {}

    # -- account-level information -------------------------------------------------------------

    @operation("GetSnowballUsage")
    def get_snowball_usage(self, ctx: Context, params: dict) -> dict:
        in_use = jobs.devices_out(ctx.scope)
        return {"SnowballLimit": catalog.SNOWBALL_LIMIT, "SnowballsInUse": in_use}

    @operation("ListCompatibleImages")
    def list_compatible_images(self, ctx: Context, params: dict) -> dict:
        images = [{"AmiId": ami, "Name": name} for ami, name in catalog.COMPATIBLE_IMAGES]
        page = ctx.scope.page_fixed(images, limit=_limit(params), token=params.get("NextToken"))
        return _with_token({"CompatibleImages": page.items}, page.next_token)

    @operation("ListServiceVersions")
    def list_service_versions(self, ctx: Context, params: dict) -> dict:
        service = params["ServiceName"]
        dependents = params.get("DependentServices") or []
        versions = _service_versions(service, dependents)
        filters = (service, tuple(sorted((d.get("ServiceName", ""), (d.get("ServiceVersion") or {}).get("Version", ""))
                                        for d in dependents)))
        page = ctx.scope.page_fixed(versions, limit=_limit(params), token=params.get("NextToken"), filters=filters)
        out = {"ServiceVersions": [{"Version": v} for v in page.items], "ServiceName": service}
        if dependents:
            out["DependentServices"] = dependents
        return _with_token(out, page.next_token)

    # -- long-term pricing ---------------------------------------------------------------------

    @operation("CreateLongTermPricing")
    def create_long_term_pricing(self, ctx: Context, params: dict) -> dict:
        if params.get("SnowballType") is None:
            raise invalid_combination("SnowballType must be provided.")
        pricing_id = f"LTPID{uuid.uuid4()}"
        term = PRICING_TERMS[params["LongTermPricingType"]]
        doc = {"LongTermPricingType": params["LongTermPricingType"], "SnowballType": params["SnowballType"],
               "IsLongTermPricingAutoRenew": bool(params.get("IsLongTermPricingAutoRenew", False)),
               "StartUs": ctx.now_us, "EndUs": ctx.now_us + int(term * US), "JobIds": []}
        ctx.scope.add(PRICING, pricing_id, doc=doc)
        return {"LongTermPricingId": pricing_id}

    def _attach_pricing(self, ctx: Context, pricing_id: str, job_id: str) -> None:
        pricing = ctx.scope.get(PRICING, pricing_id)
        pricing.doc["JobIds"] = [*pricing.doc["JobIds"], job_id]
        pricing.doc["CurrentActiveJob"] = job_id
        ctx.scope.save(pricing)

    @operation("ListLongTermPricing")
    def list_long_term_pricing(self, ctx: Context, params: dict) -> dict:
        page = ctx.scope.page(PRICING, limit=_limit(params), token=params.get("NextToken"))
        return _with_token({"LongTermPricingEntries": [_pricing_entry(p, ctx.now_us) for p in page.items]},
                           page.next_token)

    @operation("UpdateLongTermPricing")
    def update_long_term_pricing(self, ctx: Context, params: dict) -> dict:
        pricing = ctx.scope.require(PRICING, params["LongTermPricingId"])
        if params.get("ReplacementJob") is not None:
            ctx.scope.require(JOB, params["ReplacementJob"])
            pricing.doc["ReplacementJob"] = params["ReplacementJob"]
        if params.get("IsLongTermPricingAutoRenew") is not None:
            pricing.doc["IsLongTermPricingAutoRenew"] = params["IsLongTermPricingAutoRenew"]
        ctx.scope.save(pricing)
        return {}


def _with_token(out: dict, token: str | None) -> dict:
    if token:
        out["NextToken"] = token
    return out


def _pricing_entry(pricing: Resource, now_us: int) -> dict:
    doc = pricing.doc
    entry = {"LongTermPricingId": pricing.id, "LongTermPricingType": doc["LongTermPricingType"],
             "SnowballType": doc["SnowballType"], "IsLongTermPricingAutoRenew": doc["IsLongTermPricingAutoRenew"],
             "LongTermPricingStartDate": to_datetime(doc["StartUs"]), "LongTermPricingEndDate": to_datetime(doc["EndUs"]),
             "LongTermPricingStatus": "ACTIVE" if now_us < doc["EndUs"] else "EXPIRED", "JobIds": doc["JobIds"]}
    for key in ("CurrentActiveJob", "ReplacementJob"):
        if doc.get(key):
            entry[key] = doc[key]
    return entry


def _service_versions(service: str, dependents: list[dict]) -> list[str]:
    wanted = {d.get("ServiceName"): (d.get("ServiceVersion") or {}).get("Version") for d in dependents}
    if service == "KUBERNETES":
        eks = wanted.get("EKS_ANYWHERE")
        if eks:
            return list(catalog.EKS_ANYWHERE_VERSIONS.get(eks, []))
        return list(catalog.KUBERNETES_VERSIONS)
    kubernetes = wanted.get("KUBERNETES")
    return [v for v, supported in catalog.EKS_ANYWHERE_VERSIONS.items() if not kubernetes or kubernetes in supported]


def _pickup_locations(region: str) -> list[dict]:
    """AWS facilities where a customer may collect a device, in the region's serviceable country."""
    country = next((sorted(c)[0] for prefix, c in SERVICEABLE.items() if region.startswith(prefix)), "US")
    sites = [("AWS Snow Pickup North", "410 Terry Ave N", "Seattle", "WA", "98109"),
             ("AWS Snow Pickup East", "13200 Woodland Park Rd", "Herndon", "VA", "20171")]
    out = []
    for index, (name, street, city, state, postal) in enumerate(sites):
        address_id = "ADID" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"jobyard:snowball:pickup:{region}:{index}"))
        out.append({"AddressId": address_id, "Name": name, "Company": "Amazon Web Services", "Street1": street,
                    "City": city, "StateOrProvince": state, "Country": country, "PostalCode": postal,
                    "PhoneNumber": "206-266-1000", "IsRestricted": False, "Type": "CUST_PICKUP"})
    return out


def _label_pdf(job: Resource) -> bytes:
    tracking = (job.doc.get("InboundShipment") or {}).get("TrackingNumber") or jobs.tracking_number(job.id, "in")
    text = f"Return shipping label for {job.id} - tracking {tracking}"
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
            b"4 0 obj<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _job_log(job: Resource, name: str) -> bytes:
    transfer = job.doc.get("Transfer") or {"TotalObjects": 0, "TotalBytes": 0}
    if name == "failure-log":
        return b"Bucket,Key,Error\n"
    if name == "success-log":
        buckets = [b.get("BucketArn", "") for b in (job.doc.get("Resources") or {}).get("S3Resources") or []]
        return ("Bucket,Objects,Bytes\n" + "".join(f"{b},{transfer['TotalObjects']},{transfer['TotalBytes']}\n"
                                                    for b in buckets[:1] or [""])).encode()
    return (f"JobId,JobType,ObjectsTransferred,BytesTransferred,Failures\n"
            f"{job.id},{job.doc['JobType']},{transfer['TotalObjects']},{transfer['TotalBytes']},0\n").encode()
