"""Lyceum's event log in Python: the schemas of proto/lyceum/v1, built at
run time (no generated code to keep in step with the .proto files), and the
Envelope every Kafka record is wrapped in.

    from lyceum_events import Schemas
    schemas = Schemas()                      # compiles proto/ with protoc-c
    kind, env, event = schemas.decode(record_value)
    if kind == "FEEDBACK_EVENT": print(event.model, event.score)
    data = schemas.encode("ROLE_CHANGE", schemas.new("RoleChange", model="s"))

The schemas are compiled with protoc-c (Debian's protobuf-c-compiler, which
Lyceum's build needs anyway) or protoc, whichever is on PATH, into a
descriptor set that the protobuf package loads. LYCEUM_PROTO_DIR names
another proto/ directory.
"""

import os
import shutil
import subprocess
import tempfile
import time

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

PACKAGE = "lyceum.v1"
SCHEMA_VERSION = 1

# MessageType name -> message name (envelope.proto).
MESSAGES = {
    "CLIENT_QUERY": "ClientQuery", "CLIENT_REPLY": "ClientReply", "TASK": "Task",
    "ANSWER": "Answer", "WORKER_REGISTER": "WorkerRegister",
    "WORKER_HEARTBEAT": "WorkerHeartbeat", "WORKER_DEREGISTER": "WorkerDeregister",
    "EVAL_REQUEST": "EvalRequest", "VERDICT": "Verdict", "MODEL_ENTRY": "ModelEntry",
    "ROLE_CHANGE": "RoleChange", "FEEDBACK_EVENT": "FeedbackEvent",
    "TRAINING_SAMPLE": "TrainingSample", "TRAINING_JOB": "TrainingJob",
}


def default_proto_dir():
    """proto/ of this checkout (deploy/analytics/../../proto), or LYCEUM_PROTO_DIR."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("LYCEUM_PROTO_DIR", os.path.join(here, "..", "..", "proto"))


def _descriptor_set(proto_dir):
    compiler = shutil.which("protoc-c") or shutil.which("protoc")
    if not compiler:
        raise RuntimeError("need protoc-c (apt-get install protobuf-c-compiler) or protoc")
    files = sorted(os.path.join(root, f) for root, _, names in os.walk(proto_dir)
                   for f in names if f.endswith(".proto"))
    if not files:
        raise RuntimeError(f"no .proto files under {proto_dir}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "lyceum.desc")
        subprocess.run([compiler, f"-I{proto_dir}", "--include_imports",
                        f"--descriptor_set_out={out}", *files], check=True)
        with open(out, "rb") as f:
            return descriptor_pb2.FileDescriptorSet.FromString(f.read())


class Schemas:
    """The message classes of lyceum.v1, and Envelope encoding and decoding."""

    def __init__(self, proto_dir=None):
        pool = descriptor_pool.DescriptorPool()
        for file in _descriptor_set(proto_dir or default_proto_dir()).file:
            pool.Add(file)
        self._pool = pool
        self._classes = {}
        self.Envelope = self.cls("Envelope")
        self._types = pool.FindEnumTypeByName(f"{PACKAGE}.MessageType")

    def cls(self, name):
        """The message class lyceum.v1.<name>."""
        if name not in self._classes:
            desc = self._pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
            self._classes[name] = message_factory.GetMessageClass(desc)
        return self._classes[name]

    def new(self, name, **fields):
        """A new lyceum.v1.<name> message with the given fields."""
        return self.cls(name)(**fields)

    def decode(self, data):
        """(type name, Envelope, payload message) of one record value. Raises
        ValueError for what is not a Lyceum envelope of a known type."""
        env = self.Envelope.FromString(data)
        kind = self._types.values_by_number.get(env.type)
        if kind is None or kind.name not in MESSAGES:
            raise ValueError(f"unknown message type {env.type}")
        if env.schema_version != SCHEMA_VERSION:
            raise ValueError(f"schema version {env.schema_version}, this reader speaks "
                             f"{SCHEMA_VERSION}")
        return kind.name, env, self.cls(MESSAGES[kind.name]).FromString(env.payload)

    def encode(self, kind, message, trace_id="", sender="python"):
        """The record value of message (of type name `kind`) in its Envelope."""
        env = self.Envelope(type=self._types.values_by_name[kind].number,
                            schema_version=SCHEMA_VERSION, trace_id=trace_id,
                            payload=message.SerializeToString(),
                            sent_at_us=int(time.time() * 1e6), sender=sender)
        return env.SerializeToString()

    @staticmethod
    def to_dict(message):
        """A message as a dict with its proto field names, defaults included."""
        return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)
