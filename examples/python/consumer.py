"""Consumes a subscription with a Subscribe stream and acks each message after handling it.

Usage: python3 consumer.py [--server HOST:PORT] [--subscription jobs] [--max 5]

The stream holds at most --window unacked messages; an ack frees room for the next. What the
stream holds when it ends (here: --max reached, or Ctrl-C) goes back to the subscription at once.
"""

import argparse

from switchyard_client import DEFAULT_SERVER, connect
from switchyard.v1 import subscriber_pb2, subscriber_pb2_grpc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--subscription", default="jobs")
    parser.add_argument("--max", type=int, default=5, help="stop after this many messages")
    parser.add_argument("--window", type=int, default=10, help="max_outstanding_messages of the stream")
    args = parser.parse_args()

    handled = 0
    with connect(args.server) as channel:
        subscriber = subscriber_pb2_grpc.SubscriberServiceStub(channel)
        stream = subscriber.Subscribe(
            subscriber_pb2.SubscribeRequest(
                subscription=args.subscription,
                max_outstanding_messages=min(args.window, args.max),
            )
        )
        try:
            for response in stream:
                for received in response.messages:
                    m = received.message
                    attrs = ",".join(f"{k}={v}" for k, v in sorted(m.attributes.items()))
                    print(
                        f"seq={m.seq} attempt={received.delivery_attempt} priority={m.priority} "
                        f"data={m.data.decode(errors='replace')} attributes={attrs}"
                    )
                    # Handle the message, then ack it: until then it is leased to this stream.
                    subscriber.Ack(
                        subscriber_pb2.AckRequest(subscription=args.subscription, ack_ids=[received.ack_id]),
                        timeout=10,
                    )
                    handled += 1
                    if handled >= args.max:
                        return
        finally:
            stream.cancel()
            print(f"handled {handled} messages")


if __name__ == "__main__":
    main()
