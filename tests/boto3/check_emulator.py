#!/usr/bin/env python3
"""The emulator checked by the real AWS client (boto3).

Run by .ci/boto3, which makes the images, starts `kvs-mkv serve` and then:

    check_emulator.py make-images DIR
    check_emulator.py check --url URL --bin KVS_MKV --shared RECORDINGS_DIR \
        --access-key-id ID --secret-access-key SECRET

The server serves `cam` (output_get_media.mkv) and `plain` (clusters.mkv,
with the images of `make-images`) in region us-west-2, with its default
limit of 5 media calls per second per stream. Prints one line per check
and a closing `N passed, M failed`; exits non-zero when a check failed.
"""

import argparse
import base64
import datetime
import json
import os
import struct
import subprocess
import sys
import time
import traceback
import zlib

import boto3
import botocore.config
import botocore.exceptions

REGION = "us-west-2"
# Image files for `plain`: offsets (ms) into the recording.
IMAGES = {"0.png": 0, "1000.png": 1000, "2500.png": 2500, "4000.jpg": 4000}


def png(seed):
    """A valid 2x2 RGB PNG whose colour depends on `seed`."""

    def block(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixel = bytes([seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    raw = b"".join(b"\x00" + pixel * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + block(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + block(b"IDAT", zlib.compress(raw))
        + block(b"IEND", b"")
    )


def make_images(directory):
    os.makedirs(directory, exist_ok=True)
    for name, offset in IMAGES.items():
        if name.endswith(".png"):
            content = png(offset // 100)
        else:
            content = b"\xff\xd8\xff\xe0" + b"not really a jpeg" + b"\xff\xd9"
        with open(os.path.join(directory, name), "wb") as f:
            f.write(content)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            traceback.print_exc(limit=3, file=sys.stdout)
        else:
            self.passed += 1
            print(f"ok   {name}")
        sys.stdout.flush()


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def inspect(binary, data):
    """`kvs-mkv inspect --json -` over `data`: the chunk lines."""
    out = subprocess.run(
        [binary, "inspect", "--json", "-"], input=data, capture_output=True, check=False
    )
    lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
    errors = [line for line in lines if line["kind"] == "error"]
    expect(out.returncode == 0 and not errors, f"inspect reported errors: {errors}")
    return [line for line in lines if line["kind"] == "chunk"]


def inspect_file(binary, path):
    with open(path, "rb") as f:
        return inspect(binary, f.read())


def client_error_code(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def main_check(args):
    session = boto3.session.Session(
        aws_access_key_id=args.access_key_id,
        aws_secret_access_key=args.secret_access_key,
        region_name=REGION,
    )
    no_retries = botocore.config.Config(retries={"total_max_attempts": 1})
    control = session.client("kinesisvideo", endpoint_url=args.url)
    recorded = inspect_file(args.bin, os.path.join(args.shared, "output_get_media.mkv"))
    plain_file = inspect_file(args.bin, os.path.join(args.shared, "clusters.mkv"))
    checks = Checks()
    endpoints = {}

    def data_endpoint():
        for api in ["GET_MEDIA", "LIST_FRAGMENTS", "GET_MEDIA_FOR_FRAGMENT_LIST", "GET_IMAGES"]:
            reply = control.get_data_endpoint(StreamName="cam", APIName=api)
            expect(reply["DataEndpoint"] == args.url, f"{api}: {reply['DataEndpoint']}")
            expect(reply["ResponseMetadata"]["RequestId"], "a request id")
            endpoints[api] = reply["DataEndpoint"]

    checks.run("kinesisvideo get_data_endpoint", data_endpoint)
    media = session.client("kinesis-video-media", endpoint_url=endpoints.get("GET_MEDIA", args.url))
    archive = session.client(
        "kinesis-video-archived-media", endpoint_url=endpoints.get("LIST_FRAGMENTS", args.url)
    )

    def get_media_recorded():
        reply = media.get_media(StreamName="cam", StartSelector={"StartSelectorType": "EARLIEST"})
        expect(reply["ContentType"] == "video/webm", reply["ContentType"])
        chunks = inspect(args.bin, reply["Payload"].read())
        expect(len(chunks) == len(recorded) == 5, f"{len(chunks)} chunks")
        for got, want in zip(chunks, recorded):
            for key in [
                "fragment_number",
                "server_timestamp_ms",
                "producer_timestamp_ms",
                "frames",
                "keyframes",
                "frame_bytes",
                "first_pts_ms",
                "last_pts_ms",
                "tracks",
            ]:
                expect(got[key] == want[key], f"{key}: {got[key]} != {want[key]}")
            expect(got["complete"], "complete")
            expect(got["continuation_token"] == got["fragment_number"], "token")
            expect(got["millis_behind_now"] is not None, "millis behind now")
            expect(got["tags"][-1][0] == "AWS_KINESISVIDEO_CONTINUATION_TOKEN", "token last")

    checks.run("kinesis-video-media get_media (recorded GetMedia body)", get_media_recorded)

    def get_media_plain():
        reply = media.get_media(StreamName="plain", StartSelector={"StartSelectorType": "EARLIEST"})
        chunks = inspect(args.bin, reply["Payload"].read())
        expect(len(chunks) == 8, f"{len(chunks)} chunks, one per Cluster")
        expect(sum(c["frames"] for c in chunks) == plain_file[0]["frames"] == 444, "frames")
        expect(sum(c["frame_bytes"] for c in chunks) == plain_file[0]["frame_bytes"], "bytes")
        numbers = [c["fragment_number"] for c in chunks]
        expect(numbers == sorted(numbers) and len(set(numbers)) == 8, "increasing numbers")
        expect(all(len(n) == 48 for n in numbers), "48 digits")
        expect(all(c["tracks"] == plain_file[0]["tracks"] for c in chunks), "tracks")

    checks.run("kinesis-video-media get_media (plain MKV, one fragment per Cluster)", get_media_plain)

    def get_media_selectors():
        numbers = [c["fragment_number"] for c in recorded]

        def fetch(selector):
            reply = media.get_media(StreamName="cam", StartSelector=selector)
            return [c["fragment_number"] for c in inspect(args.bin, reply["Payload"].read())]

        got = fetch({"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": numbers[2]})
        expect(got == numbers[2:], f"FRAGMENT_NUMBER: {got}")
        got = fetch({"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": numbers[2]})
        expect(got == numbers[3:], f"CONTINUATION_TOKEN: {got}")
        got = fetch({"StartSelectorType": "NOW"})
        expect(got == numbers[4:], f"NOW: {got}")
        start = datetime.datetime.fromtimestamp(
            recorded[1]["producer_timestamp_ms"] / 1000 + 0.5, datetime.timezone.utc
        )
        got = fetch({"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": start})
        expect(got == numbers[1:], f"PRODUCER_TIMESTAMP: {got}")

    checks.run("kinesis-video-media get_media start selectors", get_media_selectors)

    def invalid_argument():
        try:
            media.get_media(StreamName="cam", StartSelector={"StartSelectorType": "FRAGMENT_NUMBER"})
        except media.exceptions.InvalidArgumentException as e:
            expect(client_error_code(e) == ("InvalidArgumentException", 400), str(e.response))
            expect(e.response["Error"]["Message"], "a message")
        else:
            raise AssertionError("no InvalidArgumentException")

    checks.run("get_media without AfterFragmentNumber: InvalidArgumentException", invalid_argument)

    listed = []

    def list_fragments():
        reply = archive.list_fragments(StreamName="cam", MaxResults=2)
        expect(len(reply["Fragments"]) == 2 and reply.get("NextToken"), "a first page")
        pages = archive.get_paginator("list_fragments").paginate(
            StreamName="cam", PaginationConfig={"PageSize": 2}
        )
        page_count = 0
        for page in pages:
            page_count += 1
            listed.extend(page["Fragments"])
        expect(page_count == 3, f"{page_count} pages")
        numbers = [f["FragmentNumber"] for f in listed]
        expect(sorted(numbers) == sorted(c["fragment_number"] for c in recorded), "every fragment once")
        by_number = {c["fragment_number"]: c for c in recorded}
        for f in listed:
            want = by_number[f["FragmentNumber"]]
            expect(isinstance(f["ProducerTimestamp"], datetime.datetime), "a datetime")
            ms = round(f["ProducerTimestamp"].timestamp() * 1000)
            expect(ms == want["producer_timestamp_ms"], f"producer {ms}")
            ms = round(f["ServerTimestamp"].timestamp() * 1000)
            expect(ms == want["server_timestamp_ms"], f"server {ms}")
            expect(f["FragmentLengthInMilliseconds"] == 2000, "length")
            expect(f["FragmentSizeInBytes"] > want["frame_bytes"], "size")
        start = datetime.datetime.fromtimestamp(
            recorded[1]["server_timestamp_ms"] / 1000, datetime.timezone.utc
        )
        end = datetime.datetime.fromtimestamp(
            recorded[3]["server_timestamp_ms"] / 1000, datetime.timezone.utc
        )
        reply = archive.list_fragments(
            StreamName="cam",
            FragmentSelector={
                "FragmentSelectorType": "SERVER_TIMESTAMP",
                "TimestampRange": {"StartTimestamp": start, "EndTimestamp": end},
            },
        )
        got = sorted(f["FragmentNumber"] for f in reply["Fragments"])
        expect(got == sorted(c["fragment_number"] for c in recorded[1:4]), f"range: {got}")

    checks.run("kinesis-video-archived-media list_fragments (+ paginator, selector)", list_fragments)

    def fragment_list():
        order = [recorded[3], recorded[0], recorded[4]]
        reply = archive.get_media_for_fragment_list(
            StreamName="cam", Fragments=[c["fragment_number"] for c in order]
        )
        expect(reply["ContentType"] == "video/webm", reply["ContentType"])
        data = reply["Payload"].read()
        chunks = inspect(args.bin, data)
        expect([c["fragment_number"] for c in chunks] == [c["fragment_number"] for c in order], "order")
        for got, want in zip(chunks, order):
            for key in ["frames", "frame_bytes", "server_timestamp_ms", "producer_timestamp_ms"]:
                expect(got[key] == want[key], f"{key}")
            expect(got["continuation_token"] is None, "no trailing tags")
            expect(got["millis_behind_now"] is None, "no trailing tags")
        sizes = {f["FragmentNumber"]: f["FragmentSizeInBytes"] for f in listed}
        expect(sum(sizes[c["fragment_number"]] for c in order) == len(data), "ListFragments sizes")
        missing = "1" * 47
        reply = archive.get_media_for_fragment_list(StreamName="cam", Fragments=[missing])
        chunks = inspect(args.bin, reply["Payload"].read())
        expect(len(chunks) == 1 and chunks[0]["error_id"] == 4000, f"error chunk: {chunks}")
        expect(chunks[0]["fragment_number"] == missing, "the missing number")

    checks.run("kinesis-video-archived-media get_media_for_fragment_list", fragment_list)

    def get_images():
        fragments = archive.list_fragments(StreamName="plain")["Fragments"]
        first = min(f["ProducerTimestamp"] for f in fragments)
        start = first
        end = first + datetime.timedelta(milliseconds=3000)
        images = []
        pages = archive.get_paginator("get_images").paginate(
            StreamName="plain",
            ImageSelectorType="PRODUCER_TIMESTAMP",
            StartTimestamp=start,
            EndTimestamp=end,
            SamplingInterval=500,
            Format="PNG",
            PaginationConfig={"PageSize": 3},
        )
        page_count = 0
        for page in pages:
            page_count += 1
            images.extend(page["Images"])
        expect(page_count == 3 and len(images) == 7, f"{page_count} pages, {len(images)} images")
        want = [0, 0, 1000, 1000, 2500, 2500, 2500]
        for image, offset in zip(images, want):
            content = base64.b64decode(image["ImageContent"])
            expect(content == png(offset // 100), f"image at {image['TimeStamp']}")
        expect(images[1]["TimeStamp"] - images[0]["TimeStamp"] == datetime.timedelta(milliseconds=500), "steps")
        before = first - datetime.timedelta(seconds=100)
        reply = archive.get_images(
            StreamName="plain",
            ImageSelectorType="SERVER_TIMESTAMP",
            StartTimestamp=before,
            EndTimestamp=before + datetime.timedelta(seconds=1),
            SamplingInterval=3000,
            Format="PNG",
        )
        expect(reply["Images"][0].get("Error") == "NO_MEDIA", f"{reply['Images']}")

    checks.run("kinesis-video-archived-media get_images (+ paginator)", get_images)

    def unknown_stream():
        for call in [
            lambda: control.get_data_endpoint(StreamName="nope", APIName="GET_MEDIA"),
            lambda: media.get_media(StreamName="nope", StartSelector={"StartSelectorType": "NOW"}),
            lambda: archive.list_fragments(StreamName="nope"),
        ]:
            try:
                call()
            except botocore.exceptions.ClientError as e:
                expect(client_error_code(e) == ("ResourceNotFoundException", 404), str(e.response))
                expect(type(e).__name__ == "ResourceNotFoundException", type(e).__name__)
            else:
                raise AssertionError("no ResourceNotFoundException")

    checks.run("unknown stream: ResourceNotFoundException (404)", unknown_stream)

    def wrong_secret():
        bad = boto3.session.Session(
            aws_access_key_id=args.access_key_id,
            aws_secret_access_key=args.secret_access_key + "x",
            region_name=REGION,
        )
        for client in [
            bad.client("kinesisvideo", endpoint_url=args.url, config=no_retries),
            bad.client("kinesis-video-archived-media", endpoint_url=args.url, config=no_retries),
        ]:
            try:
                if client.meta.service_model.service_name == "kinesisvideo":
                    client.get_data_endpoint(StreamName="cam", APIName="GET_MEDIA")
                else:
                    client.list_fragments(StreamName="cam")
            except botocore.exceptions.ClientError as e:
                code, status = client_error_code(e)
                expect((code, status) == ("InvalidSignatureException", 403), str(e.response))
                expect(e.response["Error"]["Message"], "a message")
            else:
                raise AssertionError("a wrong secret was accepted")

    checks.run("wrong secret: 403 InvalidSignatureException", wrong_secret)

    def throttled():
        time.sleep(1.1)
        fast = session.client("kinesis-video-archived-media", endpoint_url=args.url, config=no_retries)
        number = recorded[0]["fragment_number"]
        codes = []
        for _ in range(7):
            try:
                fast.get_media_for_fragment_list(StreamName="cam", Fragments=[number])["Payload"].read()
                codes.append("ok")
            except botocore.exceptions.ClientError as e:
                codes.append(client_error_code(e))
        expect(("ClientLimitExceededException", 400) in codes, f"{codes}")
        expect(codes[:5] == ["ok"] * 5, f"{codes}")

    checks.run("six calls in a second: ClientLimitExceededException", throttled)

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    images = sub.add_parser("make-images")
    images.add_argument("dir")
    check = sub.add_parser("check")
    check.add_argument("--url", required=True)
    check.add_argument("--bin", required=True)
    check.add_argument("--shared", required=True)
    check.add_argument("--access-key-id", required=True)
    check.add_argument("--secret-access-key", required=True)
    args = parser.parse_args()
    if args.command == "make-images":
        make_images(args.dir)
        return 0
    return main_check(args)


if __name__ == "__main__":
    sys.exit(main())
