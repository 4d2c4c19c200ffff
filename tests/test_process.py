"""The ``jobyard serve`` process itself: restart persistence and the AWS CLI against it."""

import json
import os
import signal
import subprocess
import sys

import boto3

from jobyard.testing import admin_call, free_port, wait_healthy


class ServeProcess:
    def __init__(self, data_dir, *extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "serve", "--port", str(self.port), "--data-dir", str(data_dir), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_healthy(self.url)

    def kill(self, sig=signal.SIGKILL):
        self.process.send_signal(sig)
        self.process.wait(timeout=15)


def client(url, account="123456789012"):
    return boto3.client("snowball", endpoint_url=url, region_name="us-east-1", aws_access_key_id=account,
                        aws_secret_access_key="x")


def test_state_clock_and_tokens_survive_kill_9(tmp_path):
    first = ServeProcess(tmp_path, "--time-scale", "0")
    try:
        snowball = client(first.url)
        address = snowball.create_address(Address={
            "Name": "N", "Street1": "S", "City": "C", "StateOrProvince": "WA", "Country": "US",
            "PostalCode": "98101", "PhoneNumber": "425-555-5555"})["AddressId"]
        job_ids = [snowball.create_job(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE")["JobId"]
                   for _ in range(3)]
        admin_call(first.url, "POST", "clock", {"advance": 7200})
        token = snowball.list_jobs(MaxResults=2)["NextToken"]
        clock = admin_call(first.url, "GET", "clock")
    finally:
        first.kill()
    second = ServeProcess(tmp_path)
    try:
        snowball = client(second.url)
        assert admin_call(second.url, "GET", "clock") == clock  # frozen clock kept its time and scale
        rest = snowball.list_jobs(MaxResults=2, NextToken=token)
        assert [e["JobId"] for e in rest["JobListEntries"]] == job_ids[2:]
        assert snowball.describe_job(JobId=job_ids[0])["JobMetadata"]["JobState"] == "PreparingAppliance"
        assert snowball.describe_address(AddressId=address)["Address"]["City"] == "C"
    finally:
        second.kill(signal.SIGTERM)


def test_aws_cli_lists_jobs(tmp_path):
    server = ServeProcess(tmp_path, "--time-scale", "0")
    try:
        snowball = client(server.url, "210987654321")
        address = snowball.create_address(Address={
            "Name": "N", "Street1": "S", "City": "C", "StateOrProvince": "WA", "Country": "US",
            "PostalCode": "98101", "PhoneNumber": "425-555-5555"})["AddressId"]
        job_ids = [snowball.create_job(JobType="LOCAL_USE", AddressId=address)["JobId"] for _ in range(3)]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "210987654321", "AWS_SECRET_ACCESS_KEY": "x",
               "AWS_DEFAULT_REGION": "us-east-1"}
        # --page-size 1 makes the CLI follow NextToken across three calls.
        out = subprocess.run(["aws", "snowball", "list-jobs", "--endpoint-url", server.url, "--page-size", "1",
                              "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        listed = json.loads(out.stdout)["JobListEntries"]
        assert [e["JobId"] for e in listed] == job_ids
        env["AWS_ENDPOINT_URL"] = server.url
        out = subprocess.run(["aws", "snowball", "describe-job", "--job-id", job_ids[0], "--output", "json"],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["JobMetadata"]["JobState"] == "New"
    finally:
        server.kill(signal.SIGTERM)
