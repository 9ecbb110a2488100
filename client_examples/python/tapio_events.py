#!/usr/bin/python3
"""Stream events from a Tapio sensor and print each as one JSON line, or print its status.

The Python twin of the C client tapio-events: same flags, same output, same exit status
(see --help). It needs Debian's python3-grpcio and python3-protobuf and the Python modules
the build generates from proto/ (<build>/proto/python); no gRPC code generation is needed,
the methods are called by name.
"""

import argparse
import math
import os
import signal
import sys
import time

import grpc

PROG = "tapio-events"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UINT32_MAX = 2**32 - 1

DESCRIPTION = """\
Stream events from a Tapio sensor (tapio.sensor.v1.Sensor/GetEvents) and print each
as one JSON line (the proto3 JSON mapping), or print the sensor's status.

Filters: an event is sent when it matches the allow filter (or none is given) and not
the deny filter. Each filter flag may be repeated: values of one flag are alternatives,
different flags must all match. Delivery flags left out (or 0) mean the sensor's default.
"""

EPILOG = """\
Exit status: 0 when the stream ended (the sensor closed it, --count was reached,
--timeout expired, SIGINT or SIGTERM); 1 on a gRPC error, printed as
"tapio-events: STATUS_NAME: details", or when standard output failed; 2 on bad usage.
"""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: stop the call cleanly."""


class Malformed(ValueError):
    """A response message that is not valid protobuf wire format."""


def number(limit, minimum=0):
    def parse(text):
        if not (text.isascii() and text.isdigit()) or not minimum <= int(text) <= limit:
            raise argparse.ArgumentTypeError(
                "expected a number from %d to %d" % (minimum, limit))
        return int(text)
    return parse


def seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("expected a positive number of seconds")
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    conn = p.add_argument_group("connection")
    conn.add_argument("--target", metavar="ADDR", default="127.0.0.1:50051",
                      help="HOST:PORT or unix:PATH (default %(default)s)")
    conn.add_argument("--timeout", metavar="SECONDS", type=seconds,
                      help="give the call this long (a gRPC deadline); a stream that ends "
                           "because it expired is a success, even with no events")
    filters = p.add_argument_group("filters")
    for flag, dest, meta, kind, what in [
            ("--observer", "observers", "NAME", str, "allow events of this observer (e.g. process)"),
            ("--type", "types", "NAME", str, "allow events of this type (e.g. process_exec)"),
            ("--pid", "pids", "N", number(UINT32_MAX), "allow events about this process id"),
            ("--deny-observer", "deny_observers", "NAME", str, "deny events of this observer"),
            ("--deny-type", "deny_types", "NAME", str, "deny events of this type"),
            ("--deny-pid", "deny_pids", "N", number(UINT32_MAX),
             "deny events about this process id")]:
        filters.add_argument(flag, dest=dest, metavar=meta, type=kind, action="append",
                             default=[], help=what)
    delivery = p.add_argument_group("delivery")
    delivery.add_argument("--batch", metavar="N", type=number(UINT32_MAX), default=0,
                          help="up to N events per response message (at most 10000)")
    delivery.add_argument("--delay-ms", metavar="N", type=number(UINT32_MAX), default=0,
                          help="let a partial message wait up to N ms for more events")
    delivery.add_argument("--queue", metavar="N", type=number(UINT32_MAX), default=0,
                          help="events the sensor may queue for this client before it drops")
    out = p.add_argument_group("output")
    out.add_argument("--count", metavar="N", type=number(2**64 - 1, minimum=1),
                     help="exit after printing N events")
    out.add_argument("--quiet", action="store_true",
                     help="(GetEvents) print no events; count them without decoding and "
                          "print 'tapio-events: E events in M messages, S s, R events/s' on "
                          "stderr at the end (S: from the call's start to the last message)")
    out.add_argument("--status", action="store_true",
                     help="call GetStatus instead and print its response as one JSON line")
    out.add_argument("--proto-python", metavar="DIR",
                     default=os.environ.get("TAPIO_PROTO_PYTHON",
                                            os.path.join(REPO, "build", "proto", "python")),
                     help="where the generated tapio/sensor/v1/sensor_pb2.py is "
                          "(default: $TAPIO_PROTO_PYTHON or <repo>/build/proto/python)")
    return p.parse_args(argv)


def load_protos(directory):
    """Imports the generated modules. The directory goes last on sys.path: it also holds a
    generated google/protobuf/timestamp_pb2.py, and the installed protobuf must win."""
    sys.path.append(directory)
    try:
        from google.protobuf import json_format
        from tapio.sensor.v1 import sensor_pb2
    except ImportError as e:
        sys.exit("%s: cannot import the generated modules from %s (%s); build the tree or "
                 "pass --proto-python" % (PROG, directory, e))
    return sensor_pb2, json_format


def make_filter(pb, observers, types, pids):
    if not (observers or types or pids):
        return []
    return [pb.EventFilter(observers=observers, event_types=types, pids=pids)]


def events_request(pb, args):
    return pb.GetEventsRequest(
        allow=make_filter(pb, args.observers, args.types, args.pids),
        deny=make_filter(pb, args.deny_observers, args.deny_types, args.deny_pids),
        max_events_per_message=args.batch,
        max_delay_ms=args.delay_ms,
        queue_size=args.queue)


def read_varint(data, pos):
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def count_entries(data, field):
    """Counts the length-delimited entries of `field` in a serialized message without
    decoding them (for --quiet, like the C client). Raises Malformed."""
    count = pos = 0
    try:
        while pos < len(data):
            tag, pos = read_varint(data, pos)
            wire_type = tag & 7
            if tag >> 3 == 0:
                raise Malformed("field number 0")
            if wire_type == 0:
                _, pos = read_varint(data, pos)
            elif wire_type == 1:
                pos += 8
            elif wire_type == 2:
                length, pos = read_varint(data, pos)
                pos += length
                count += tag >> 3 == field
            elif wire_type == 5:
                pos += 4
            else:
                raise Malformed("wire type %d" % wire_type)
    except IndexError:
        raise Malformed("truncated") from None
    if pos != len(data):
        raise Malformed("truncated")
    return count


class Stats:
    def __init__(self):
        self.events = 0
        self.messages = 0
        self.started = time.monotonic()
        self.last_message = self.started

    def summary(self):
        elapsed = self.last_message - self.started if self.messages else 0.0
        rate = self.events / elapsed if elapsed > 0 else 0.0
        return "%s: %d events in %d messages, %.3f s, %.0f events/s" % (
            PROG, self.events, self.messages, elapsed, rate)


def stream_events(channel, pb, json_format, args, stats):
    quiet = args.quiet
    get_events = channel.unary_stream(
        "/tapio.sensor.v1.Sensor/GetEvents",
        request_serializer=pb.GetEventsRequest.SerializeToString,
        # Quiet mode keeps the bytes: they are counted, not decoded.
        response_deserializer=None if quiet else pb.GetEventsResponse.FromString)
    events_field = pb.GetEventsResponse.DESCRIPTOR.fields_by_name["events"].number
    call = get_events(events_request(pb, args), timeout=args.timeout)
    try:
        for response in call:
            stats.messages += 1
            if quiet:
                stats.events += count_entries(response, events_field)
                stats.last_message = time.monotonic()
            else:
                for event in response.events:
                    if args.count and stats.events >= args.count:
                        break
                    print(json_format.MessageToJson(event, indent=None))
                    stats.events += 1
                sys.stdout.flush()
            if args.count and stats.events >= args.count:
                break
    finally:
        # Ends the stream early (count, signal, error); a no-op once it has ended.
        call.cancel()


def print_status(channel, pb, json_format, args):
    get_status = channel.unary_unary(
        "/tapio.sensor.v1.Sensor/GetStatus",
        request_serializer=pb.GetStatusRequest.SerializeToString,
        response_deserializer=pb.GetStatusResponse.FromString)
    response = get_status(pb.GetStatusRequest(), timeout=args.timeout)
    print(json_format.MessageToJson(response, indent=None), flush=True)


def on_signal(signum, frame):
    # Restore the default first: a second signal kills, as in the C client.
    signal.signal(signum, signal.SIG_DFL)
    raise Interrupted()


def run(args):
    pb, json_format = load_protos(args.proto_python)
    stats = Stats()
    # No limit on message size: a batch of 10000 events may pass the default 4 MiB.
    options = [("grpc.max_receive_message_length", -1)]
    try:
        with grpc.insecure_channel(args.target, options=options) as channel:
            if args.status:
                print_status(channel, pb, json_format, args)
            else:
                stream_events(channel, pb, json_format, args, stats)
        return 0
    except Interrupted:
        return 0
    except grpc.RpcError as e:
        if (e.code() == grpc.StatusCode.DEADLINE_EXCEEDED and args.timeout
                and not args.status):
            return 0
        print("%s: %s: %s" % (PROG, e.code().name, e.details() or ""), file=sys.stderr)
        return 1
    except Malformed:
        print("%s: INTERNAL: malformed GetEventsResponse" % PROG, file=sys.stderr)
        return 1
    except OSError as e:
        print("%s: writing standard output: %s" % (PROG, e.strerror), file=sys.stderr)
        return 1
    finally:
        if args.quiet and not args.status:
            print(stats.summary(), file=sys.stderr)


def main(argv):
    args = parse_args(argv)
    # Die quietly on a closed pipe (`... | head`), as C programs do.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
