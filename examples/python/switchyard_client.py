"""Small helpers shared by the examples: a channel to the broker and the stable reason of an error.

Every Switchyard error carries a `switchyard.v1.ErrorDetail` (a stable `reason` such as
TOPIC_NOT_FOUND, plus `metadata`). Over gRPC it travels in the standard rich-error trailer
`grpc-status-details-bin`: a `google.rpc.Status` whose `details` hold the ErrorDetail as an Any.
"""

import os
import sys

# The generated stubs (bash examples/python/generate.sh) live in gen/ beside this file, or in
# SWITCHYARD_PY_GEN.
sys.path.insert(0, os.environ.get("SWITCHYARD_PY_GEN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen")))

import grpc  # noqa: E402  (Debian: python3-grpcio)
from google.rpc import status_pb2  # noqa: E402
from switchyard.v1 import errors_pb2  # noqa: E402

DEFAULT_SERVER = os.environ.get("SWITCHYARD_GRPC", "127.0.0.1:7440")


def connect(server: str = DEFAULT_SERVER) -> grpc.Channel:
    """A plaintext gRPC channel (HTTP/2 without TLS) to the broker's RPC port."""
    return grpc.insecure_channel(server)


def error_detail(err: grpc.RpcError):
    """The ErrorDetail of a failed call (reason and metadata), or None if it carries none."""
    trailers = err.trailing_metadata() or ()
    for key, value in trailers:
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for any_detail in status.details:
            detail = errors_pb2.ErrorDetail()
            if any_detail.Is(errors_pb2.ErrorDetail.DESCRIPTOR) and any_detail.Unpack(detail):
                return detail
    return None


def reason_of(err: grpc.RpcError) -> str:
    """The stable reason of a failed call, e.g. TOPIC_NOT_FOUND ("" if there is none)."""
    detail = error_detail(err)
    return detail.reason if detail else ""
