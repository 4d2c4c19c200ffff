// Unmodified AWS SDK for JavaScript v3 clients against a jobyard server (URL in JOBYARD_URL).
// Prints one JSON object of what each client saw; tests/test_js_sdk.py checks it.
import { SnowballClient, CreateAddressCommand, CreateJobCommand, DescribeJobCommand, paginateListJobs } from "@aws-sdk/client-snowball";
import { GlacierClient, CreateVaultCommand, UploadArchiveCommand, InitiateJobCommand, ListJobsCommand, DescribeVaultCommand } from "@aws-sdk/client-glacier";
import { DataExchangeClient, CreateDataSetCommand, GetDataSetCommand, ListDataSetsCommand } from "@aws-sdk/client-dataexchange";
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { STSClient, GetCallerIdentityCommand, GetSessionTokenCommand } from "@aws-sdk/client-sts";

const config = {
  endpoint: process.env.JOBYARD_URL, region: "us-east-1",
  credentials: { accessKeyId: process.env.JOBYARD_ACCOUNT, secretAccessKey: "x" },
};
const seen = {};
const failure = async (call) => {
  try { await call(); return null; } catch (e) { return { name: e.name, status: e.$metadata.httpStatusCode, resourceType: e.ResourceType ?? null }; }
};

const snowball = new SnowballClient(config);
const { AddressId } = await snowball.send(new CreateAddressCommand({ Address: {
  Name: "N", Street1: "S", City: "Seattle", StateOrProvince: "WA", Country: "US", PostalCode: "98101", PhoneNumber: "425-555-5555" } }));
const jobIds = [];
for (let i = 0; i < 5; i++) {
  jobIds.push((await snowball.send(new CreateJobCommand({ JobType: "LOCAL_USE", AddressId, SnowballType: "EDGE" }))).JobId);
}
const described = await snowball.send(new DescribeJobCommand({ JobId: jobIds[0] }));
const listed = [];
for await (const page of paginateListJobs({ client: snowball, pageSize: 2 }, {})) listed.push(...page.JobListEntries.map((j) => j.JobId));
seen.snowball = {
  jobIds, listed, state: described.JobMetadata.JobState, creationIsDate: described.JobMetadata.CreationDate instanceof Date,
  error: await failure(() => snowball.send(new DescribeJobCommand({ JobId: "JID00000000-0000-0000-0000-000000000000" }))),
};

const glacier = new GlacierClient(config);
await glacier.send(new CreateVaultCommand({ accountId: "-", vaultName: "js-vault" }));
const archive = await glacier.send(new UploadArchiveCommand({ accountId: "-", vaultName: "js-vault", body: Buffer.from("hello glacier") }));
const job = await glacier.send(new InitiateJobCommand({ accountId: "-", vaultName: "js-vault",
  jobParameters: { Type: "archive-retrieval", ArchiveId: archive.archiveId, Tier: "Expedited" } }));
const jobs = await glacier.send(new ListJobsCommand({ accountId: "-", vaultName: "js-vault", limit: 1 }));
seen.glacier = {
  archiveIdLength: archive.archiveId.length, checksum: archive.checksum, jobId: job.jobId,
  listed: jobs.JobList.map((j) => [j.JobId, j.StatusCode]),
  error: await failure(() => glacier.send(new DescribeVaultCommand({ accountId: "-", vaultName: "missing" }))),
};

const dx = new DataExchangeClient(config);
const dataSet = await dx.send(new CreateDataSetCommand({ AssetType: "S3_SNAPSHOT", Name: "js", Description: "from js" }));
const fetched = await dx.send(new GetDataSetCommand({ DataSetId: dataSet.Id }));
seen.dataexchange = {
  name: fetched.Name, createdIsDate: fetched.CreatedAt instanceof Date,
  listed: (await dx.send(new ListDataSetsCommand({}))).DataSets.map((d) => d.Id),
  id: dataSet.Id, error: await failure(() => dx.send(new GetDataSetCommand({ DataSetId: "0".repeat(32) }))),
};

const s3 = new S3Client({ ...config, forcePathStyle: true });
await s3.send(new CreateBucketCommand({ Bucket: "js-bucket" }));
await s3.send(new PutObjectCommand({ Bucket: "js-bucket", Key: "dir/hello.txt", Body: "hello s3" }));
const object = await s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "dir/hello.txt" }));
const listing = await s3.send(new ListObjectsV2Command({ Bucket: "js-bucket", Delimiter: "/" }));
seen.s3 = {
  body: await object.Body.transformToString(), prefixes: (listing.CommonPrefixes ?? []).map((p) => p.Prefix),
  error: await failure(() => s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "missing" }))),
};

const sts = new STSClient(config);
const identity = await sts.send(new GetCallerIdentityCommand({}));
seen.sts = {
  account: identity.Account, arn: identity.Arn, userId: identity.UserId,
  error: await failure(() => sts.send(new GetSessionTokenCommand({}))),
};

console.log(JSON.stringify(seen));
