"""The streaming API with real streams: exact filtering per subscriber, 64 concurrent
subscribers, loss accounting of a stalled subscriber, resume, field projection, request
validation and limits, and the stream's own status."""

import os
import stat
import subprocess
import time
import uuid

import grpc
import pytest

from clients import Stream, lost, pb, real, status, wait_subscribers, wait_until
from sensor_fixture import Sensor

ME = os.getpid()


@pytest.fixture(scope="module")
def sensor():
    with Sensor("--rate", "process=0", "--resume-ring", "4096") as s:
        yield s
        assert s.stop() == 0, s.log


def sm(**kw):
    return pb.StringMatch(**kw)


def gated_shell(script):
    """A /bin/sh that waits for a line on stdin before running script: its pid is known
    before it does anything, so filters can name it."""
    r, w = os.pipe()
    p = subprocess.Popen(["/bin/sh", "-c", "read x; " + script], stdin=r)
    os.close(r)
    return p, w


def release(p, w):
    os.write(w, b"go\n")
    os.close(w)
    assert p.wait(60) == 0


def test_two_subscribers_get_exactly_their_own_events(sensor):
    a = pb.GetEventsRequest(allow=[pb.EventFilter(event_types=["process_exec"],
                                                  parent_pids=[ME],
                                                  binary=[sm(exact="/bin/sh")])])
    b = pb.GetEventsRequest(allow=[pb.EventFilter(event_types=["process_exec", "process_exit"],
                                                  parent_pids=[ME],
                                                  comm=[sm(regex="^tr(u|x)e$")])],
                            deny=[pb.EventFilter(event_types=["process_exit"],
                                                 comm=[sm(prefix="sh")])])
    with Stream(sensor.address, a) as sa, Stream(sensor.address, b) as sb:
        wait_subscribers(sensor.address, 2)
        shells = [subprocess.Popen(["/bin/sh", "-c", "exit 0"]) for _ in range(3)]
        trues = [subprocess.Popen(["/bin/true"]) for _ in range(2)]
        for p in shells + trues:
            p.wait()
        sh_pids = {p.pid for p in shells}
        true_pids = {p.pid for p in trues}
        sa.wait(lambda ev: {e.process.pid for e in ev} >= sh_pids, what="3 shell execs")
        sb.wait(lambda ev: len(ev) >= 4, what="2 execs + 2 exits of true")
        time.sleep(0.5)  # anything let through wrongly would be here by now
        assert sorted(e.process.pid for e in sa.events) == sorted(sh_pids)
        assert all(e.type == pb.EVENT_TYPE_PROCESS_EXEC for e in sa.events)
        assert sorted((e.process.pid, e.type) for e in sb.events) == sorted(
            [(p, pb.EVENT_TYPE_PROCESS_EXEC) for p in true_pids] +
            [(p, pb.EVENT_TYPE_PROCESS_EXIT) for p in true_pids])


def test_64_concurrent_subscribers(sensor):
    req = pb.GetEventsRequest(allow=[pb.EventFilter(event_types=["process_exec"],
                                                    parent_pids=[ME])],
                              max_events_per_message=16, max_delay_ms=20)
    channels = [grpc.insecure_channel(sensor.address) for _ in range(8)]
    streams = [Stream(sensor.address, req, channel=channels[i % 8]) for i in range(64)]
    try:
        wait_subscribers(sensor.address, 64, timeout=30)
        st = status(sensor.address)
        assert len(st.streams) == 64
        assert all(s.request == "allow 1, deny 0" for s in st.streams)
        p = subprocess.Popen(["/bin/sh", "-c", "exit 0"])
        p.wait()
        for s in streams:
            s.wait(lambda ev: any(e.process.pid == p.pid for e in ev), what="the exec")
            assert [e.process.pid for e in s.events] == [p.pid]
    finally:
        for s in streams:
            s.close()
        for c in channels:
            c.close()
    wait_subscribers(sensor.address, 0)


def test_stalled_subscriber_gets_loss_notices_that_add_up(sensor):
    n = 1500
    storm, gate = gated_shell(f"i=0; while [ $i -lt {n} ]; do /bin/true; i=$((i+1)); done")
    req = pb.GetEventsRequest(allow=[pb.EventFilter(event_types=["process_exec"],
                                                    parent_pids=[storm.pid])])
    fast_req = pb.GetEventsRequest(allow=req.allow, max_events_per_message=500)
    stalled_req = pb.GetEventsRequest(allow=req.allow, queue_size=16)
    # A client that does not read: without BDP probing and with a small lookahead, gRPC's
    # HTTP/2 flow control stops the server after a few messages.
    slow = grpc.insecure_channel(sensor.address, options=[("grpc.http2.bdp_probe", 0),
                                                          ("grpc.http2.lookahead_bytes", 1024)])
    with Stream(sensor.address, fast_req) as fast, \
            Stream(sensor.address, stalled_req, read=False, channel=slow) as stalled:
        wait_subscribers(sensor.address, 2)
        release(storm, gate)
        fast.wait(lambda ev: len(ev) >= n, timeout=60, what=f"{n} execs")
        time.sleep(0.5)
        assert len(fast.events) == n and lost(fast.events) == 0, "the fast one lost nothing"
        assert len({e.seq for e in fast.events}) == n

        stalled.start_reading()  # now it reads: what it got plus what it was told it lost
        stalled.wait(lambda ev: len(real(ev)) + lost(ev, "LOSS_SOURCE_SUBSCRIBER_QUEUE_FULL")
                     >= n, timeout=30, what="events + losses = produced")
        got, missed = len(real(stalled.events)), lost(stalled.events,
                                                        "LOSS_SOURCE_SUBSCRIBER_QUEUE_FULL")
        assert got + missed == n
        assert missed > 0 and got >= 16
        notices = [e for e in stalled.events if e.HasField("lost")]
        assert len(notices) <= 5, "notices are a small fraction of the stream"
        st = [s for s in status(sensor.address).streams if s.queue_capacity == 16][0]
        assert st.dropped == missed
    slow.close()


def test_resume_after_reconnect_gets_exactly_what_was_missed(sensor):
    req = pb.GetEventsRequest(allow=[pb.EventFilter(event_types=["process_exec"],
                                                    parent_pids=[ME])],
                              max_events_per_message=50)
    first = [subprocess.Popen(["/bin/true"]) for _ in range(3)]
    with Stream(sensor.address, req) as s:
        wait_subscribers(sensor.address, 1)
        for p in first:
            p.wait()
        first = [subprocess.Popen(["/bin/true"]) for _ in range(3)]
        for p in first:
            p.wait()
        seen = s.wait(lambda ev: {e.process.pid for e in ev} >= {p.pid for p in first})
    last = seen[-1]
    missed = [subprocess.Popen(["/bin/true"]) for _ in range(5)]  # while disconnected
    for p in missed:
        p.wait()
    time.sleep(0.3)
    resume = pb.GetEventsRequest(allow=req.allow, max_events_per_message=50,
                                 resume=pb.ResumeFrom(boot_id=last.boot_id,
                                                      after_seq=last.seq))
    with Stream(sensor.address, resume) as s2:
        got = s2.wait(lambda ev: {e.process.pid for e in ev} >= {p.pid for p in missed})
        live = subprocess.Popen(["/bin/true"])
        live.wait()
        got = s2.wait(lambda ev: any(e.process.pid == live.pid for e in ev))
    assert lost(got) == 0
    seqs = [e.seq for e in got]
    assert seqs == sorted(seqs) and min(seqs) > last.seq, "no duplicate of the first stream"
    pids = [e.process.pid for e in got]
    assert sorted(pids[:-1]) == sorted(p.pid for p in missed) and pids[-1] == live.pid


def test_resume_beyond_the_ring_starts_with_the_exact_gap():
    with Sensor("--observers", "process", "--rate", "process=0", "--resume-ring", "8") as s:
        storm = subprocess.run(["/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do "
                                "/bin/true; done"])
        assert storm.returncode == 0
        st = wait_until(lambda: (x := status(s.address)).resume_ring.size == 8 and x)
        resume = pb.GetEventsRequest(resume=pb.ResumeFrom(boot_id=st.boot_id, after_seq=1))
        with Stream(s.address, resume) as r:
            got = r.wait(lambda ev: len(ev) >= 9 and ev[0].HasField("lost"))
        # The notice counts exactly the events between the one the client had (1) and the
        # oldest one still retained, which is replayed right after it.
        assert got[0].lost.source == pb.LOSS_SOURCE_RESUME_GAP
        assert got[1].seq >= st.resume_ring.oldest_seq
        assert got[0].lost.count == got[1].seq - 2
        assert [e.seq for e in got[1:9]] == list(range(got[1].seq, got[1].seq + 8))
        assert s.stop() == 0, s.log


def test_field_mask_sends_only_what_was_asked(sensor):
    req = pb.GetEventsRequest(allow=[pb.EventFilter(event_types=["process_exec"],
                                                    parent_pids=[ME])])
    req.field_mask.paths.extend(["process.pid", "exec.args"])
    tag = "tapio-" + uuid.uuid4().hex
    with Stream(sensor.address, req) as s:
        wait_subscribers(sensor.address, 1)
        p = subprocess.Popen(["/bin/sh", "-c", "exit 0", "sh", tag])
        p.wait()
        ev = s.wait(lambda ev: len(ev) >= 1)[0]
    assert ev.process.pid == p.pid
    assert list(ev.exec.args) == ["/bin/sh", "-c", "exit 0", "sh", tag]
    assert ev.seq > 0 and ev.type == pb.EVENT_TYPE_PROCESS_EXEC
    assert ev.process.comm == "" and ev.process.binary == "" and not ev.HasField("parent")
    assert ev.node == "" and not ev.HasField("time") and ev.exec.filename == ""


@pytest.mark.parametrize("request_,message", [
    (pb.GetEventsRequest(allow=[pb.EventFilter(binary=[pb.StringMatch(regex="(x")])]),
     "allow[0].binary[0]: bad regex \"(x\""),
    (pb.GetEventsRequest(deny=[pb.EventFilter(observers=["dnss"])]),
     "deny[0].observers[0]: unknown observer \"dnss\""),
    (pb.GetEventsRequest(allow=[pb.EventFilter(observers=["process"],
                                               event_types=["lost_events"])]),
     "allow[0].event_types[0]: \"lost_events\" contradicts observers"),
    (pb.GetEventsRequest(field_mask={"paths": ["process.nope"]}),
     "field_mask.paths[0]: no field \"nope\" in tapio.sensor.v1.Process"),
    (pb.GetEventsRequest(max_events_per_message=100000),
     "max_events_per_message: at most 10000"),
    (pb.GetEventsRequest(resume=pb.ResumeFrom(after_seq=5)),
     "resume.boot_id: required with resume.after_seq"),
])
def test_bad_requests_are_invalid_argument(sensor, request_, message):
    with grpc.insecure_channel(sensor.address) as ch:
        from clients import events_call
        with pytest.raises(grpc.RpcError) as e:
            next(iter(events_call(ch)(request_, timeout=10)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in e.value.details()


def test_limits_have_clear_status_codes():
    with Sensor("--max-subscribers", "2") as s:
        req = pb.GetEventsRequest()
        with Stream(s.address, req), Stream(s.address, req):
            wait_subscribers(s.address, 2)
            with grpc.insecure_channel(s.address) as ch:
                from clients import events_call
                with pytest.raises(grpc.RpcError) as e:
                    next(iter(events_call(ch)(req, timeout=10)))
                assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "too many event streams (max-subscribers 2)" in e.value.details()
                big = pb.GetEventsRequest(allow=[pb.EventFilter(pids=list(range(20000)))])
                with pytest.raises(grpc.RpcError) as e:
                    next(iter(events_call(ch)(big, timeout=10)))
                assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert s.stop() == 0, s.log


def test_unix_socket_is_0660_and_group_owned():
    with Sensor("--socket-group", "daemon") as s:
        st = os.stat(s.unix_path)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        import grp
        assert st.st_gid == grp.getgrnam("daemon").gr_gid
        with grpc.insecure_channel(s.unix) as ch:
            grpc.channel_ready_future(ch).result(timeout=10)
        assert s.stop() == 0, s.log
