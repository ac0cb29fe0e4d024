#!/usr/bin/env python3
"""boto3 against the moto server the log-stream e2e test starts (S3 sink).

  s3_helper.py setup --endpoint URL --bucket B --region R
      With moto's first requests still unauthenticated
      (INITIAL_NO_AUTH_ACTION_COUNT=4): creates an IAM user, its access key,
      a policy allowing s3:* and the bucket (four actions). From then on moto
      verifies the SigV4 signature of every request. Prints
      {"access_key_id", "secret_access_key"}.

  s3_helper.py read --endpoint URL --bucket B --region R --prefix P
      (credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
      Lists the objects under P and reads each back. Prints
      {"objects": [{"key", "content_encoding", "content_type", "gzip",
      "events": [...] | null, "error": str | null}]}.

Needs boto3 (in .venv, installed by scripts/setup.sh with moto[server]).
"""

import argparse
import gzip
import json
import sys

import boto3
from botocore.config import Config


def client(service, args, key=None, secret=None):
    return boto3.client(
        service,
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id=key or "AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key=secret or "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def setup(args):
    iam = client("iam", args)
    iam.create_user(UserName="tessera-log-streams")  # 1
    key = iam.create_access_key(UserName="tessera-log-streams")["AccessKey"]  # 2
    iam.put_user_policy(  # 3
        UserName="tessera-log-streams",
        PolicyName="s3-all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    s3 = client("s3", args, key["AccessKeyId"], key["SecretAccessKey"])
    params = {"Bucket": args.bucket}
    if args.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": args.region}
    s3.create_bucket(**params)  # 4
    print(json.dumps({"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}))


def read(args):
    import os

    s3 = client("s3", args, os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    out = []
    token = None
    while True:
        kw = {"Bucket": args.bucket, "Prefix": args.prefix}
        if token:
            kw["ContinuationToken"] = token
        page = s3.list_objects_v2(**kw)
        for o in page.get("Contents", []):
            obj = s3.get_object(Bucket=args.bucket, Key=o["Key"])
            raw = obj["Body"].read()
            entry = {
                "key": o["Key"],
                "content_encoding": obj.get("ContentEncoding"),
                "content_type": obj.get("ContentType"),
                "gzip": raw[:2] == b"\x1f\x8b",
                "events": None,
                "error": None,
            }
            try:
                text = gzip.decompress(raw).decode("utf-8")
                if not text.endswith("\n"):
                    raise ValueError("NDJSON does not end with a newline")
                entry["events"] = [json.loads(line) for line in text.split("\n") if line]
                if any(not line for line in text.split("\n")[:-1]):
                    raise ValueError("an empty line inside the NDJSON")
            except Exception as e:  # reported to the test, which fails on it
                entry["error"] = f"{type(e).__name__}: {e}"
            out.append(entry)
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    print(json.dumps({"objects": out}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["setup", "read"])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--bucket", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--prefix", default="")
    args = p.parse_args()
    setup(args) if args.command == "setup" else read(args)


if __name__ == "__main__":
    sys.exit(main())
