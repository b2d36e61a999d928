"""Shows how a failed call reports its stable reason and metadata (switchyard.v1.ErrorDetail).

Usage: python3 errors.py [--server HOST:PORT] [--subscription jobs]
"""

import argparse

import grpc
from switchyard_client import DEFAULT_SERVER, connect, error_detail
from switchyard.v1 import admin_pb2, admin_pb2_grpc, subscriber_pb2, subscriber_pb2_grpc


def show(what: str, call) -> None:
    try:
        call()
        print(f"{what}: ok")
    except grpc.RpcError as err:
        detail = error_detail(err)
        metadata = ",".join(f"{k}={v}" for k, v in sorted(detail.metadata.items())) if detail else ""
        reason = detail.reason if detail else ""
        print(f"{what}: code={err.code().name} reason={reason} metadata={metadata} message={err.details()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--subscription", default="jobs")
    args = parser.parse_args()

    with connect(args.server) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        subscriber = subscriber_pb2_grpc.SubscriberServiceStub(channel)
        show("GetTopic no-such-topic", lambda: admin.GetTopic(admin_pb2.GetTopicRequest(name="no-such-topic"), timeout=10))
        show(
            "Ack not-an-ack-id",
            lambda: subscriber.Ack(
                subscriber_pb2.AckRequest(subscription=args.subscription, ack_ids=["not-an-ack-id"]), timeout=10
            ),
        )


if __name__ == "__main__":
    main()
