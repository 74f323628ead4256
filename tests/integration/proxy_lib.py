"""proxy_lib.py - real nginx and HAProxy instances on loopback for the proxy
tests (test_python_proxy.py) and rolling_restart.py, each run from the exact
configuration file in deploy/ with only its placeholders filled in.

Every instance is the test's own: its own prefix, configuration, pid and
log files in a temp dir, listening on a free ephemeral port; the system
service (if any) is never touched. Processes run in the foreground as
children of the test and are stopped by their pid.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

START_TIMEOUT_S = 15

# The placeholders deploy/nginx/mnemo.conf declares (filled in the way
# envsubst would, naming the variables: nginx's own $variables stay).
NGINX_PLACEHOLDERS = ("MNEMO_NGINX_LISTEN", "MNEMO_UPSTREAM")
# The environment deploy/haproxy/mnemo.cfg reads (HAProxy expands "${X}").
HAPROXY_ENV = ("MNEMO_HAPROXY_BIND", "MNEMO_BACKEND1", "MNEMO_BACKEND2", "MNEMO_HEALTH_PORT1",
               "MNEMO_HEALTH_PORT2")


def free_port():
    """A port no one listens on now: bind 127.0.0.1:0, read it, release it.
    (Another process could take it before the caller binds it; on a test
    machine that is rare enough, and the caller's start then fails loudly.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, log_path, timeout=START_TIMEOUT_S):
    """Waits until 127.0.0.1:port accepts a connection; raises with the log
    when proc exits first or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("exited %r before listening on %d; log:\n%s" %
                               (proc.returncode, port, read(log_path)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %d after %ss; log:\n%s" %
                       (port, timeout, read(log_path)))


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as e:
        return "(%s)" % e


def render_placeholders(text, values):
    """Replaces each ${NAME} of `values` in text; fails if the text holds a
    ${MNEMO_...} placeholder that values does not fill (the file and the
    test disagree)."""
    for name, value in values.items():
        if "${%s}" % name not in text:
            raise ValueError("placeholder ${%s} is not in the file" % name)
        text = text.replace("${%s}" % name, str(value))
    left = re.findall(r"\$\{MNEMO_[A-Z0-9_]*\}", text)
    if left:
        raise ValueError("placeholders left unfilled: %s" % ", ".join(sorted(set(left))))
    return text


def override_directive(text, name, value):
    """Sets the value of the one `name ...;` directive of an nginx file
    (a test that needs a shorter timeout); fails unless there is exactly
    one."""
    pattern = re.compile(r"^(\s*%s\s+)[^;]*;" % re.escape(name), re.M)
    new, n = pattern.subn(lambda m: m.group(1) + value + ";", text)
    if n != 1:
        raise ValueError("%d '%s' directives in the file, want exactly 1" % (n, name))
    return new


class Proxy:
    """Common part: a foreground child process with its own temp dir."""

    def __init__(self, prefix):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.log_path = os.path.join(self.dir, "proxy.log")
        self.proc = None
        self.port = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def read_log(self):
        return read(self.log_path)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        if os.environ.get("MNEMO_TEST_KEEP"):
            print("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Nginx(Proxy):
    """nginx running deploy/nginx/mnemo.conf, included in a minimal main
    configuration of the test's own (pid, logs and temp paths in its dir,
    one worker, not daemonised). `overrides` maps a directive to the value a
    test wants instead of the file's (e.g. grpc_read_timeout)."""

    def __init__(self, conf_path, upstream, overrides=None, binary="nginx"):
        super().__init__("mnemo-nginx-")
        self.port = free_port()
        with open(conf_path) as f:
            text = f.read()
        text = render_placeholders(text, {"MNEMO_NGINX_LISTEN": "127.0.0.1:%d" % self.port,
                                          "MNEMO_UPSTREAM": upstream})
        for name, value in (overrides or {}).items():
            text = override_directive(text, name, value)
        site = os.path.join(self.dir, "mnemo.conf")
        with open(site, "w") as f:
            f.write(text)
        d = self.dir
        main = os.path.join(d, "nginx.conf")
        with open(main, "w") as f:
            f.write("daemon off;\n"
                    "worker_processes 1;\n"
                    "pid %s/nginx.pid;\n"
                    "error_log %s info;\n"
                    "events { worker_connections 512; }\n"
                    "http {\n"
                    "    access_log %s/access.log;\n"
                    "    client_body_temp_path %s/body;\n"
                    "    proxy_temp_path %s/proxy;\n"
                    "    fastcgi_temp_path %s/fastcgi;\n"
                    "    uwsgi_temp_path %s/uwsgi;\n"
                    "    scgi_temp_path %s/scgi;\n"
                    "    include %s;\n"
                    "}\n" % (d, self.log_path, d, d, d, d, d, d, site))
        self.log = open(self.log_path, "ab")
        # -p: the prefix; -e: startup errors go to our log, not the system's.
        self.proc = subprocess.Popen([binary, "-p", d, "-c", main, "-e", self.log_path],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, self.log_path)

    def cleanup(self):
        super().cleanup()
        self.log.close()


class HAProxy(Proxy):
    """HAProxy running deploy/haproxy/mnemo.cfg as it is, its placeholders
    given in the environment; -db keeps it in the foreground."""

    def __init__(self, cfg_path, backends, binary="haproxy"):
        """backends: two (address, health_port) pairs (the same one twice
        for a single mnemod)."""
        super().__init__("mnemo-haproxy-")
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNEMO_")}
        env["MNEMO_HAPROXY_BIND"] = "127.0.0.1:%d" % self.port
        for i, (addr, hport) in enumerate(backends, 1):
            env["MNEMO_BACKEND%d" % i] = addr
            env["MNEMO_HEALTH_PORT%d" % i] = str(hport)
        missing = [k for k in HAPROXY_ENV if k not in env]
        if missing:
            raise ValueError("HAProxy environment lacks " + ", ".join(missing))
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([binary, "-db", "-f", cfg_path], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, self.log_path)

    def cleanup(self):
        super().cleanup()
        self.log.close()
