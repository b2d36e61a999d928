"""Publishes messages to a topic, creating it as a queue when it does not exist yet.

Usage: python3 producer.py [--server HOST:PORT] [--topic jobs] [--count 5]

Shows reading an error's stable reason: GetTopic fails with reason TOPIC_NOT_FOUND when the
topic is missing, and the producer then creates it.
"""

import argparse

import grpc
from switchyard_client import DEFAULT_SERVER, connect, reason_of
from switchyard.v1 import admin_pb2, admin_pb2_grpc, publisher_pb2, publisher_pb2_grpc, types_pb2


def ensure_queue(admin: admin_pb2_grpc.AdminServiceStub, topic: str) -> None:
    try:
        admin.GetTopic(admin_pb2.GetTopicRequest(name=topic), timeout=10)
        print(f"topic {topic} exists")
    except grpc.RpcError as err:
        if reason_of(err) != "TOPIC_NOT_FOUND":
            raise
        print(f"topic {topic}: {err.code().name} {reason_of(err)}; creating it as a queue")
        admin.CreateTopic(admin_pb2.CreateTopicRequest(name=topic, queue=True), timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--topic", default="jobs")
    parser.add_argument("--count", type=int, default=5)
    args = parser.parse_args()

    with connect(args.server) as channel:
        ensure_queue(admin_pb2_grpc.AdminServiceStub(channel), args.topic)
        publisher = publisher_pb2_grpc.PublisherServiceStub(channel)
        # One Publish carries the whole batch: it is answered once the batch is on disk.
        messages = [
            types_pb2.PublishMessage(
                data=f"job {i}".encode(),
                attributes={"source": "python", "n": str(i)},
                priority=9 if i == 0 else 0,
            )
            for i in range(args.count)
        ]
        res = publisher.Publish(publisher_pb2.PublishRequest(topic=args.topic, messages=messages), timeout=30)
        for r in res.results:
            print(f"published seq={r.seq} id={r.id}")


if __name__ == "__main__":
    main()
