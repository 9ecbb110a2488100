#!/usr/bin/python3
"""A small grpcurl: lists, describes and calls the services of a gRPC server through
server reflection, with no .proto file and no generated module.

    reflection_client.py [--v1alpha] ADDRESS list [SERVICE]
    reflection_client.py [--v1alpha] ADDRESS describe [SYMBOL]
    reflection_client.py [--v1alpha] ADDRESS SERVICE/METHOD [-d JSON] [--max N]

ADDRESS is HOST:PORT or unix:/PATH. Responses are printed as JSON, one object per
message. Only the reflection protocol itself is built in (grpcurl has it compiled in
too); every other type is built from the file descriptors the server sends, with
google.protobuf's descriptor_pool and message_factory.

Needs Debian's python3-grpcio and python3-protobuf (/usr/bin/python3).
"""

import argparse
import queue
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

FieldProto = descriptor_pb2.FieldDescriptorProto


# ---- the reflection protocol (grpc/reflection/v1/reflection.proto; v1alpha has the
# same wire format) ----------------------------------------------------------------


def _message(file, name, fields, oneof=None):
    """Adds message `name` to `file`. fields: (name, number, type, type name or None,
    repeated, in the oneof)."""
    msg = file.message_type.add(name=name)
    if oneof:
        msg.oneof_decl.add(name=oneof)
    for fname, number, ftype, type_name, repeated, in_oneof in fields:
        field = msg.field.add(
            name=fname,
            number=number,
            type=ftype,
            label=FieldProto.LABEL_REPEATED if repeated else FieldProto.LABEL_OPTIONAL,
        )
        if type_name:
            field.type_name = ".grpc.reflection.v1." + type_name
        if in_oneof:
            field.oneof_index = 0


def _reflection_classes():
    S, I, B, M = (FieldProto.TYPE_STRING, FieldProto.TYPE_INT32, FieldProto.TYPE_BYTES,
                  FieldProto.TYPE_MESSAGE)
    f = descriptor_pb2.FileDescriptorProto(
        name="reflection_client/grpc/reflection/v1/reflection.proto",
        package="grpc.reflection.v1", syntax="proto3")
    _message(f, "ServerReflectionRequest", [
        ("host", 1, S, None, False, False),
        ("file_by_filename", 3, S, None, False, True),
        ("file_containing_symbol", 4, S, None, False, True),
        ("file_containing_extension", 5, M, "ExtensionRequest", False, True),
        ("all_extension_numbers_of_type", 6, S, None, False, True),
        ("list_services", 7, S, None, False, True),
    ], oneof="message_request")
    _message(f, "ExtensionRequest", [
        ("containing_type", 1, S, None, False, False),
        ("extension_number", 2, I, None, False, False),
    ])
    _message(f, "ServerReflectionResponse", [
        ("valid_host", 1, S, None, False, False),
        ("original_request", 2, M, "ServerReflectionRequest", False, False),
        ("file_descriptor_response", 4, M, "FileDescriptorResponse", False, True),
        ("all_extension_numbers_response", 5, M, "ExtensionNumberResponse", False, True),
        ("list_services_response", 6, M, "ListServiceResponse", False, True),
        ("error_response", 7, M, "ErrorResponse", False, True),
    ], oneof="message_response")
    _message(f, "FileDescriptorResponse", [("file_descriptor_proto", 1, B, None, True, False)])
    _message(f, "ExtensionNumberResponse", [
        ("base_type_name", 1, S, None, False, False),
        ("extension_number", 2, I, None, True, False),
    ])
    _message(f, "ListServiceResponse", [("service", 1, M, "ServiceResponse", True, False)])
    _message(f, "ServiceResponse", [("name", 1, S, None, False, False)])
    _message(f, "ErrorResponse", [
        ("error_code", 1, I, None, False, False),
        ("error_message", 2, S, None, False, False),
    ])
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(f.SerializeToString())
    return tuple(message_class(pool.FindMessageTypeByName("grpc.reflection.v1." + name))
                 for name in ("ServerReflectionRequest", "ServerReflectionResponse"))


def message_class(desc):
    """The Python class of message descriptor `desc` (API of protobuf 4.21 and later)."""
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)


ServerReflectionRequest, ServerReflectionResponse = _reflection_classes()


class ReflectionError(Exception):
    """The server answered a reflection request with an error_response."""

    def __init__(self, code, message):
        super().__init__(f"{grpc_code_name(code)}: {message}")
        self.code = code
        self.message = message


def grpc_code_name(code):
    for c in grpc.StatusCode:
        if c.value[0] == code:
            return c.name
    return str(code)


# ---- the client -----------------------------------------------------------------------


class ReflectionClient:
    """One ServerReflectionInfo stream, asked one request at a time, and the descriptor
    pool built from what it answered."""

    def __init__(self, channel, version="v1", timeout=30):
        path = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
        rpc = channel.stream_stream(path,
                                    request_serializer=ServerReflectionRequest.SerializeToString,
                                    response_deserializer=ServerReflectionResponse.FromString)
        self.channel = channel
        self.pool = descriptor_pool.DescriptorPool()
        self._requests = queue.Queue()
        self._responses = rpc(iter(self._requests.get, None), timeout=timeout)
        self._protos = {}  # file name -> FileDescriptorProto received
        self._added = set()  # file names in self.pool

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        else:
            self._responses.cancel()

    def close(self):
        """Half-closes the stream; raises grpc.RpcError unless the server then ends it
        with OK."""
        self._requests.put(None)
        for extra in self._responses:
            raise RuntimeError(f"response after half-close: {extra}")

    def ask(self, **request):
        """Sends one ServerReflectionRequest (its fields as keywords) and returns the
        response; raises ReflectionError for an error_response."""
        self._requests.put(ServerReflectionRequest(**request))
        resp = next(self._responses)
        if resp.WhichOneof("message_response") == "error_response":
            raise ReflectionError(resp.error_response.error_code,
                                  resp.error_response.error_message)
        return resp

    def list_services(self):
        resp = self.ask(list_services="")
        return [s.name for s in resp.list_services_response.service]

    def _receive(self, resp):
        """Keeps the files of a file_descriptor_response; returns the first one's name
        (the file asked for)."""
        names = []
        for raw in resp.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
            self._protos.setdefault(fd.name, fd)
            names.append(fd.name)
        if not names:
            raise RuntimeError("file_descriptor_response without files")
        return names[0]

    def _add(self, name):
        """Adds file `name` to the pool, its imports first (asked for when the server
        did not send them along)."""
        if name in self._added:
            return
        if name not in self._protos:
            self._receive(self.ask(file_by_filename=name))
        fd = self._protos[name]
        for dep in fd.dependency:
            self._add(dep)
        self.pool.AddSerializedFile(fd.SerializeToString())
        self._added.add(name)

    def load_file(self, filename):
        self._add(self._receive(self.ask(file_by_filename=filename)))

    def load_symbol(self, symbol):
        self._add(self._receive(self.ask(file_containing_symbol=symbol)))

    def find(self, symbol):
        """The descriptor of a fully qualified service, method, message, enum, field or
        enum value; SERVICE/METHOD names a method too."""
        symbol = symbol.lstrip(".").replace("/", ".")
        self.load_symbol(symbol)
        for find in (self.pool.FindServiceByName, self.pool.FindMethodByName,
                     self.pool.FindMessageTypeByName, self.pool.FindEnumTypeByName,
                     self.pool.FindFieldByName):
            try:
                return find(symbol)
            except KeyError:
                pass
        raise KeyError(f"{symbol} is in {self.pool.FindFileContainingSymbol(symbol).name}, "
                       "but is not a service, method, message, enum or field")

    def call(self, method_name, request_json="{}", timeout=None):
        """Calls a method with a request given as JSON. Returns an iterator of response
        messages; for a server stream it is the grpc call, which has cancel()."""
        method = self.find(method_name)
        if not hasattr(method, "input_type"):
            raise KeyError(f"{method_name} is not a method")
        request = json_format.Parse(request_json, message_class(method.input_type)())
        kind = method_kind(method)
        path = f"/{method.containing_service.full_name}/{method.name}"
        invoke = getattr(self.channel, kind)(
            path, request_serializer=type(request).SerializeToString,
            response_deserializer=message_class(method.output_type).FromString)
        if kind.startswith("stream_"):  # the one request is the whole client stream
            request = iter([request])
        if kind.endswith("_unary"):
            return iter([invoke(request, timeout=timeout)])
        return invoke(request, timeout=timeout)


def method_kind(method):
    """unary_unary, unary_stream, stream_unary or stream_stream."""
    proto = descriptor_pb2.MethodDescriptorProto()
    method.CopyToProto(proto)
    return (("stream" if proto.client_streaming else "unary") + "_" +
            ("stream" if proto.server_streaming else "unary"))


# ---- describe: descriptors printed the way a .proto declares them ----------------------

SCALARS = {v: k[len("TYPE_"):].lower() for k, v in FieldProto.Type.items()}


def field_type(field):
    if field.message_type is not None:
        if field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields
            return f"map<{field_type(key)}, {field_type(value)}>"
        return "." + field.message_type.full_name
    if field.enum_type is not None:
        return "." + field.enum_type.full_name
    return SCALARS[field.type]


def describe_field(field):
    is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
    label = "repeated " if field.label == FieldProto.LABEL_REPEATED and not is_map else ""
    return f"{label}{field_type(field)} {field.name} = {field.number};"


def describe_method(method):
    proto = descriptor_pb2.MethodDescriptorProto()
    method.CopyToProto(proto)
    arg = ("stream " if proto.client_streaming else "") + "." + method.input_type.full_name
    ret = ("stream " if proto.server_streaming else "") + "." + method.output_type.full_name
    return f"rpc {method.name} ( {arg} ) returns ( {ret} );"


def block(head, lines, indent):
    pad = "  " * indent
    return [pad + head + " {"] + lines + [pad + "}"]


def describe_enum(enum, indent=0):
    pad = "  " * (indent + 1)
    return block(f"enum {enum.name}", [f"{pad}{v.name} = {v.number};" for v in enum.values],
                 indent)


def describe_message(msg, indent=0):
    pad = "  " * (indent + 1)
    lines = []
    for field in msg.fields:
        if field.containing_oneof is None:
            lines.append(pad + describe_field(field))
    for oneof in msg.oneofs:
        fields = [pad + "  " + describe_field(f) for f in oneof.fields]
        lines += block(f"oneof {oneof.name}", fields, indent + 1)
    for nested in msg.nested_types:
        if not nested.GetOptions().map_entry:
            lines += describe_message(nested, indent + 1)
    for enum in msg.enum_types:
        lines += describe_enum(enum, indent + 1)
    return block(f"message {msg.name}", lines, indent)


def describe(desc):
    """grpcurl-style text for a descriptor that find() returned."""
    name = desc.full_name
    if hasattr(desc, "methods"):
        body = block(f"service {desc.name}", ["  " + describe_method(m) for m in desc.methods], 0)
        return f"{name} is a service:\n" + "\n".join(body)
    if hasattr(desc, "input_type"):
        return f"{name} is a method:\n{describe_method(desc)}"
    if hasattr(desc, "values"):
        return f"{name} is an enum:\n" + "\n".join(describe_enum(desc))
    if hasattr(desc, "nested_types"):
        return f"{name} is a message:\n" + "\n".join(describe_message(desc))
    return f"{name} is a field:\n{describe_field(desc)}"


# ---- command line ----------------------------------------------------------------------


def run(args, out):
    channel = grpc.insecure_channel(args.address)
    with ReflectionClient(channel, "v1alpha" if args.v1alpha else "v1",
                          timeout=args.timeout) as client:
        if args.command == "list" and not args.symbol:
            print("\n".join(sorted(client.list_services())), file=out)
        elif args.command == "list":
            print("\n".join(m.full_name for m in client.find(args.symbol).methods), file=out)
        elif args.command == "describe":
            symbols = [args.symbol] if args.symbol else sorted(client.list_services())
            for symbol in symbols:
                print(describe(client.find(symbol)), file=out)
        else:
            responses = client.call(args.command, args.data, timeout=args.timeout)
            for n, resp in enumerate(responses, 1):
                print(json_format.MessageToJson(resp), file=out, flush=True)
                if args.max and n >= args.max and hasattr(responses, "cancel"):
                    responses.cancel()
                    break
    channel.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--v1alpha", action="store_true", help="use grpc.reflection.v1alpha")
    p.add_argument("--timeout", type=float, default=None, help="deadline of each call, s")
    p.add_argument("-d", "--data", default="{}", help="request message as JSON")
    p.add_argument("--max", type=int, default=0, help="stop a stream after N responses")
    p.add_argument("address", help="HOST:PORT or unix:/PATH")
    p.add_argument("command", help="list, describe, or SERVICE/METHOD to call")
    p.add_argument("symbol", nargs="?", help="what to list or describe")
    args = p.parse_args(argv)
    try:
        run(args, sys.stdout)
    except grpc.RpcError as e:
        code = "".join(w.capitalize() for w in e.code().name.split("_"))
        print(f"ERROR:\n  Code: {code}\n  Message: {e.details()}", file=sys.stderr)
        return 1
    except (ReflectionError, KeyError, json_format.ParseError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
