#!/usr/bin/env python3
"""Chaos run of demux: claims, extends, releases and expiries through the
real stack (demux serve, Caddy, Podman + CRIU, the shop-fixture template)
while faults are injected at random points:

  demux_kill  demux serve is killed with SIGKILL and started again
  podman      the run's own Podman service is stopped, then started
  proxy       Caddy is stopped, then started again (--resume)
  copy_kill   a ready copy's container (SIGKILL of its first process) or its
              MariaDB is killed, then a claim is made at once
  disk_full   the state directory's tmpfs is filled, then emptied

After each fault, and at the end, the invariants are checked:
  partners    every container, route and record has its partners
  unique      no copy is handed out twice
  answers     every claimed, unreleased demo answers 200 until its expiry
  min_ready   the pool returns to min_ready
  answers_ok  no API answer is a 5xx other than a 503 naming a reason
and the time from lifting a fault to all invariants holding again is
recorded per kind. Prints a summary; TAP lines for tests/run. Run by
tests/chaos/run.sh (which makes the template image and cleans up).
"""
import argparse
import http.client
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

KINDS = ["demux_kill", "podman", "proxy", "copy_kill", "disk_full"]
TEMPLATE = "chaosshop"
BD = "demo.localhost"


def log(msg):
    print("# " + msg, flush=True)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Stack:
    def __init__(self, a):
        self.a = a
        self.dir = a.dir
        self.state = os.path.join(self.dir, "state")
        self.sock = os.path.join(self.dir, "podman.sock")
        self.api_port = free_port()
        self.proxy_port = free_port()
        self.caddy_port = free_port()
        self.token = os.urandom(24).hex()
        self.demux = self.podman = self.caddy = None
        self.caddy_home = os.path.join(self.dir, "caddy")
        os.makedirs(self.caddy_home, exist_ok=True)
        with open(os.path.join(self.dir, "admin-token"), "w") as f:
            f.write(self.token + "\n")
        os.chmod(os.path.join(self.dir, "admin-token"), 0o600)
        with open(os.path.join(self.caddy_home, "init.json"), "w") as f:
            json.dump({"admin": {"listen": "127.0.0.1:%d" % self.caddy_port},
                       "logging": {"logs": {"default": {"level": "ERROR"}}}}, f)
        self.conf = os.path.join(self.dir, "demux.conf")
        with open(self.conf, "w") as f:
            f.write(f"""[demux]
state_dir = {self.state}
[server]
listen = 127.0.0.1:{self.api_port}
base_domain = {BD}
public_port = {self.proxy_port}
admin_token_file = {self.dir}/admin-token
claims_per_ip_per_minute = 100000
max_active_per_client = 0
[podman]
socket = {self.sock}
[proxy]
backend = caddy
caddy_admin = http://127.0.0.1:{self.caddy_port}
listen = 127.0.0.1:{self.proxy_port}
[pool {TEMPLATE}]
min_ready = {a.min_ready}
max_instances = {a.max_instances}
provision_concurrency = 2
ttl = {a.ttl}s
max_ttl = 10m
port_min = 48000
port_max = 48199
""")

    def logf(self, name):
        return open(os.path.join(self.dir, name + ".log"), "ab")

    # --- processes ---
    def start_podman(self):
        self.podman = subprocess.Popen(
            ["podman", "system", "service", "--time=0", "unix://" + self.sock],
            stdout=self.logf("podman"), stderr=subprocess.STDOUT)
        return self.wait(lambda: self.podman_ping(), 30)

    def stop_podman(self):
        stop(self.podman)

    def podman_ping(self):
        r = subprocess.run(["curl", "-sf", "--unix-socket", self.sock,
                            "http://d/v5.0.0/libpod/_ping"], capture_output=True)
        return r.returncode == 0

    def start_caddy(self):
        env = dict(os.environ, HOME=self.caddy_home, XDG_DATA_HOME=self.caddy_home,
                   XDG_CONFIG_HOME=self.caddy_home)
        self.caddy = subprocess.Popen(
            ["caddy", "run", "--config", os.path.join(self.caddy_home, "init.json"), "--resume"],
            stdout=self.logf("caddy"), stderr=subprocess.STDOUT, env=env)
        return self.wait(lambda: self.caddy_config() is not None, 20)

    def stop_caddy(self):
        stop(self.caddy)

    def caddy_config(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.caddy_port, timeout=5)
            c.request("GET", "/config/")
            r = c.getresponse()
            body = r.read()
            return json.loads(body) if r.status == 200 else None
        except (OSError, ValueError):
            return None

    def start_demux(self):
        self.demux = subprocess.Popen([self.a.demux, "serve", "--config", self.conf],
                                      stdout=self.logf("serve"), stderr=subprocess.STDOUT)
        return self.wait(lambda: self.api("GET", "/healthz")[0] in (200, 503), 60)

    def kill_demux(self):
        if self.demux is not None and self.demux.poll() is None:
            self.demux.send_signal(signal.SIGKILL)
            self.demux.wait()

    def wait(self, cond, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return True
            time.sleep(0.1)
        return False

    # --- talking to it ---
    def api(self, method, path, body=None, token=None, timeout=60):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)
            h = {"Host": BD}
            if token:
                h["Authorization"] = "Bearer " + token
            data = None
            if body is not None:
                data = json.dumps(body)
                h["Content-Type"] = "application/json"
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw)
            except ValueError:
                return r.status, {}
        except OSError as e:
            return 0, {"error": str(e)}

    def page(self, demo_id):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=20)
            c.request("GET", "/", headers={"Host": "%s.%s:%d" % (demo_id, BD, self.proxy_port)})
            r = c.getresponse()
            r.read()
            return r.status
        except OSError:
            return 0

    def records(self):
        db = sqlite3.connect(os.path.join(self.state, "demux.db"), timeout=10)
        try:
            rows = db.execute("SELECT id, state, container FROM instances WHERE template = ?",
                              (TEMPLATE,)).fetchall()
        finally:
            db.close()
        return rows

    def containers(self):
        r = subprocess.run(["podman", "ps", "-a", "--filter", "label=demux.template=" + TEMPLATE,
                            "--format", "json"], capture_output=True, text=True)
        if r.returncode != 0:
            return None
        return {c["Names"][0]: c["State"] for c in json.loads(r.stdout or "[]")}

    def routes(self):
        cfg = self.caddy_config()
        if cfg is None:
            return None
        hosts = set()

        def walk(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    if k == "host" and isinstance(x, list):
                        hosts.update(h for h in x if isinstance(h, str))
                    else:
                        walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(cfg)
        return {h[:-len(BD) - 1] for h in hosts if h.endswith("." + BD)}

    def pool(self):
        code, body = self.api("GET", "/api/v1/pool", token=self.token, timeout=10)
        if code != 200:
            return None
        return body["pools"][0]


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Run:
    def __init__(self, a, st):
        self.a = a
        self.st = st
        self.claimed = {}  # id -> {"token", "expires_at"}
        self.handed = set()
        self.ending = set()  # releases answered 503: demux finishes them
        self.cycles = 0
        self.claims = self.extends = self.releases = self.expiries = 0
        self.faults = {k: 0 for k in KINDS}
        self.recovery = {k: [] for k in KINDS}
        self.violations = []
        self.answers = {}

    def violation(self, what):
        self.violations.append(what)
        log("VIOLATION " + what)

    def note(self, code, body, what):
        self.answers[code] = self.answers.get(code, 0) + 1
        if code >= 500 and not (code == 503 and body.get("reason")):
            self.violation("%s answered %d without a reason: %s" % (what, code, body))

    # --- lifecycle ---
    def claim(self):
        code, body = self.st.api("POST", "/api/v1/demos")
        self.note(code, body, "claim")
        if code != 201:
            return None
        self.claims += 1
        i = body.get("id")
        if i in self.handed:
            self.violation("copy %s handed out twice" % i)
        self.handed.add(i)
        self.claimed[i] = {"token": body.get("owner_token"), "expires_at": body.get("expires_at_unix") or 0}
        return i

    def extend(self):
        if not self.claimed:
            return
        i = random.choice(sorted(self.claimed))
        code, body = self.st.api("POST", "/api/v1/demos/%s/extend" % i, {"minutes": 1},
                                 token=self.claimed[i]["token"])
        self.note(code, body, "extend")
        if code == 200:
            self.extends += 1
            self.claimed[i]["expires_at"] = body.get("expires_at_unix") or self.claimed[i]["expires_at"]

    def release(self):
        if not self.claimed:
            return
        i = random.choice(sorted(self.claimed))
        code, body = self.st.api("DELETE", "/api/v1/demos/%s" % i, token=self.claimed[i]["token"])
        self.note(code, body, "release")
        if code == 200:
            self.releases += 1
            self.cycles += 1
            del self.claimed[i]
        elif code == 503:
            # the release began (RELEASING) and demux finishes it later: the
            # demo is ending, no longer owed a 200
            self.ending.add(i)
            del self.claimed[i]

    def reap_expired(self):
        for i in sorted(self.ending):
            code, _ = self.st.api("GET", "/api/v1/demos/%s" % i, token=self.st.token)
            if code == 404:
                self.releases += 1
                self.cycles += 1
                self.ending.discard(i)
        now = time.time()
        for i in sorted(self.claimed):
            if self.claimed[i]["expires_at"] + 5 < now:
                code, _ = self.st.api("GET", "/api/v1/demos/%s" % i, token=self.st.token)
                if code == 404:
                    self.expiries += 1
                    self.cycles += 1
                    del self.claimed[i]

    def step(self):
        self.reap_expired()
        r = random.random()
        if len(self.claimed) < self.a.max_claimed and r < 0.5:
            self.claim()
        elif r < 0.7:
            self.extend()
        elif r < 0.9:
            self.release()

    # --- invariants ---
    def check_answers(self):
        bad = []
        now = time.time()
        for i, c in sorted(self.claimed.items()):
            if c["expires_at"] > now + 3:
                code = self.st.page(i)
                if code != 200 and c["expires_at"] > time.time() + 1:
                    bad.append("%s:%d" % (i, code))
        return bad

    def partners(self):
        """None when consistent, else what is wrong; 'busy' while records
        are in transition."""
        try:
            recs = self.st.records()
        except sqlite3.Error as e:
            return "store: %s" % e
        if any(s in (0, 3) for _, s, _ in recs):
            return "busy"
        ctrs = self.st.containers()
        routes = self.st.routes()
        if ctrs is None or routes is None:
            return "podman or caddy not answering"
        ids = {i for i, _, _ in recs}
        names = {c for _, _, c in recs}
        wrong = []
        if set(ctrs) != names:
            wrong.append("containers %s vs records %s" % (sorted(set(ctrs) ^ names), len(names)))
        stopped = [n for n, s in ctrs.items() if s != "running"]
        if stopped:
            wrong.append("stopped containers %s" % stopped)
        if routes != ids:
            wrong.append("routes differ %s" % sorted(routes ^ ids))
        return "; ".join(wrong) or None

    def recovered(self):
        p = self.st.pool()
        if p is None:
            return False, "no pool answer"
        if p["ready"] < min(self.a.min_ready, self.a.max_instances - p["claimed"]):
            return False, "ready %d < min_ready" % p["ready"]
        w = self.partners()
        if w is not None:
            return False, w
        return True, None

    def settle(self, kind):
        t0 = time.time()
        why = None
        while time.time() - t0 < self.a.recover_timeout:
            ok, why = self.recovered()
            if ok:
                if kind in self.recovery:
                    self.recovery[kind].append(time.time() - t0)
                bad = self.check_answers()
                if bad:
                    self.violation("after %s: claimed demos not answering 200: %s" % (kind, bad))
                return True
            self.step()
            time.sleep(0.3)
        self.violation("after %s: not recovered within %ds: %s" % (kind, self.a.recover_timeout, why))
        return False

    # --- faults ---
    def ready_copy(self):
        try:
            rows = [r for r in self.st.records() if r[1] == 1]
        except sqlite3.Error:
            return None
        return random.choice(rows) if rows else None

    def inject(self, kind):
        st = self.st
        self.faults[kind] += 1
        if kind == "demux_kill":
            for _ in range(random.randint(0, 2)):
                self.step()
            st.kill_demux()
            if not st.start_demux():
                self.violation("demux serve did not start again")
        elif kind == "podman":
            st.stop_podman()
            for _ in range(random.randint(1, 3)):
                self.step()
                time.sleep(0.5)
            if not st.start_podman():
                self.violation("podman service did not start again")
        elif kind == "proxy":
            st.stop_caddy()
            for _ in range(random.randint(1, 3)):
                self.step()
                time.sleep(0.5)
            if not st.start_caddy():
                self.violation("caddy did not start again")
        elif kind == "copy_kill":
            self.kill_copy()
        elif kind == "disk_full":
            fill = os.path.join(st.state, "fill")
            subprocess.run(["dd", "if=/dev/zero", "of=" + fill, "bs=1M"], capture_output=True)
            for _ in range(random.randint(1, 3)):
                self.step()
                time.sleep(0.5)
            os.unlink(fill)

    def kill_copy(self):
        rec = self.ready_copy()
        if rec is None:
            self.faults["copy_kill"] -= 1
            return
        i, _, name = rec
        r = subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", name],
                           capture_output=True, text=True)
        try:
            pid = int(r.stdout.strip())
        except ValueError:
            self.faults["copy_kill"] -= 1
            return
        target = pid
        if random.random() < 0.5:
            target = mariadbd_of(pid) or pid
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
        # the container goes down (MariaDB's death stops it too); claim at once
        self.st.wait(lambda: (self.st.containers() or {}).get(name) != "running", 10)
        got = self.claim()
        if got == i:
            self.violation("copy %s handed out after its container was killed" % i)

    # --- the run ---
    def run(self):
        t_end = time.time() + self.a.seconds
        order = []
        self.settle(None)
        while time.time() < t_end:
            if (self.cycles >= self.a.cycles and
                    min(self.faults.values()) >= self.a.faults_per_kind):
                break
            for _ in range(random.randint(1, 4)):
                self.step()
            if not order:
                order = KINDS[:]
                random.shuffle(order)
            kind = order.pop()
            if self.faults[kind] >= self.a.faults_per_kind and \
                    min(self.faults.values()) < self.a.faults_per_kind:
                continue
            self.inject(kind)
            self.settle(kind)
        # end: the demos still claimed are ended, and everything checked again
        while self.claimed:
            before = len(self.claimed)
            self.release()
            if len(self.claimed) == before:
                break
        self.settle("end")


def mariadbd_of(pid):
    try:
        ns = os.readlink("/proc/%d/ns/pid" % pid)
    except OSError:
        return None
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
            if comm in ("mariadbd", "mysqld") and os.readlink("/proc/%s/ns/pid" % d) == ns:
                return int(d)
        except OSError:
            continue
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--demux", required=True)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--faults-per-kind", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=540)
    ap.add_argument("--min-ready", type=int, default=2)
    ap.add_argument("--max-instances", type=int, default=6)
    ap.add_argument("--max-claimed", type=int, default=3)
    ap.add_argument("--ttl", type=int, default=20)
    ap.add_argument("--recover-timeout", type=int, default=90)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    random.seed(seed)
    log("seed %d" % seed)
    st = Stack(a)
    run = None
    t0 = time.time()
    try:
        os.makedirs(st.state, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400m,mode=0700", "demux-chaos",
                        st.state], check=True)
        if not st.start_podman() or not st.start_caddy():
            print("not ok 1 - chaos: podman service and caddy start")
            return 1
        r = subprocess.run([a.demux, "template", "create", "--config", st.conf, "--name", TEMPLATE,
                            "--image", "localhost/demux/shop-fixture:latest",
                            "--label", "demux.test=chaos"], capture_output=True, text=True)
        if r.returncode != 0:
            print("not ok 1 - chaos: demux template create: %s" % r.stderr[-300:])
            return 1
        if not st.start_demux():
            print("not ok 1 - chaos: demux serve starts")
            return 1
        run = Run(a, st)
        run.run()
    finally:
        st.kill_demux()
        if run is not None:
            try:
                db = sqlite3.connect(os.path.join(st.state, "demux.db"))
                ic = db.execute("PRAGMA integrity_check").fetchone()[0]
                db.close()
            except sqlite3.Error as e:
                ic = str(e)
            if ic != "ok":
                run.violation("integrity_check: %s" % ic)
        stop(st.caddy)
        subprocess.run("podman ps -aq --filter label=demux.template=%s | xargs -r podman rm -f -t 0"
                       % TEMPLATE, shell=True, capture_output=True)
        st.stop_podman()
        subprocess.run(["umount", "-l", st.state], capture_output=True)
    elapsed = time.time() - t0
    print("# chaos run: %.0f s, seed %d" % (elapsed, seed))
    print("# lifecycle cycles (claim to release or expiry): %d  (claims %d, extends %d, "
          "releases %d, expiries %d)" % (run.cycles, run.claims, run.extends, run.releases,
                                         run.expiries))
    print("# API answers by status: %s" % json.dumps(dict(sorted(run.answers.items()))))
    print("# %-11s %7s %12s %12s" % ("fault", "count", "recovery_med", "recovery_max"))
    for k in KINDS:
        v = run.recovery[k]
        print("# %-11s %7d %11.1fs %11.1fs" % (k, run.faults[k], statistics.median(v) if v else 0,
                                               max(v) if v else 0))
    print("# invariant violations: %d" % len(run.violations))
    for v in run.violations:
        print("#   " + v)
    print("ok 1 - chaos: %d cycles, %d faults" % (run.cycles, sum(run.faults.values()))
          if run.cycles > 0 else "not ok 1 - chaos: no lifecycle cycle completed")
    print("%s 2 - chaos: every fault kind injected" %
          ("ok" if min(run.faults.values()) > 0 else "not ok"))
    print("%s 3 - chaos: 0 invariant violations" % ("ok" if not run.violations else "not ok"))
    print("1..3")
    return 0 if not run.violations and min(run.faults.values()) > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
