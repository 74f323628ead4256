#!/usr/bin/python3
"""test_deploy_files.py - the deployment files in deploy/ agree with the
mnemod they deploy: every YAML file parses; every flag and MNEMO_*
variable they use exists in `mnemod --help` (or `mnemo --help` for the
CLI's); mnemod actually starts with the systemd unit's and the
StatefulSet's arguments (paths and ports moved into a temp dir) and answers
health on the port the probes use; the Kubernetes fields that must agree
with those flags do (ports, probe port = --health-listen port,
terminationGracePeriodSeconds >= --drain-delay + --grace-ms, the data
volume at --data-dir); the Dockerfile is multi-stage, non-root, with a
volume and a `mnemo health` HEALTHCHECK; `systemd-analyze verify` passes on
the unit (skipped, saying so, when the tool is missing); nginx -t and
haproxy -c accept the proxy configs.

    /usr/bin/python3 tests/integration/test_deploy_files.py --mnemod build/server/mnemod \
        --mnemo build/client/mnemo --deploy-dir deploy --make-certs tests/integration/make_certs.sh
"""

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy_lib  # noqa: E402

ARGS = None
FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
ENV_RE = re.compile(r"\b(MNEMO_[A-Z0-9_]+)\b")


def duration_s(text):
    """mnemod's durations: 500ms, 30s, 5m, 2h."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    if not m:
        raise ValueError("not a duration: %r" % text)
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def parse_args(argv):
    """['--a', 'x', '--b', ...] -> {'--a': ['x'], ...}; a flag with no value
    (followed by another flag or the end) maps to [None]."""
    out = {}
    i = 0
    while i < len(argv):
        flag = argv[i]
        if not flag.startswith("--"):
            raise ValueError("argument %r is not a flag" % flag)
        value = None
        if i + 1 < len(argv) and not str(argv[i + 1]).startswith("--"):
            value = str(argv[i + 1])
            i += 1
        out.setdefault(flag, []).append(value)
        i += 1
    return out


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def help_text(binary):
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def unit_lines(path):
    """(key, value) of a systemd unit, continuation lines joined."""
    out = []
    with open(path) as f:
        text = f.read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        key, _, value = line.partition("=")
        out.append((key.strip(), value.strip()))
    return out


def dockerfile_instructions(path):
    """(INSTRUCTION, rest) pairs, continuation lines joined."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def exec_form(rest):
    """A Dockerfile JSON array (exec form) or a shell-form command."""
    rest = rest.strip()
    if rest.startswith("["):
        return json.loads(rest)
    return shlex.split(rest)


class DeployFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = ARGS.deploy_dir
        cls.mnemod_help = help_text(ARGS.mnemod)
        cls.mnemo_help = help_text(ARGS.mnemo)
        cls.mnemod_flags = set(FLAG_RE.findall(cls.mnemod_help))
        cls.mnemo_flags = set(FLAG_RE.findall(cls.mnemo_help))
        cls.mnemod_env = set(ENV_RE.findall(cls.mnemod_help))
        import yaml
        cls.yaml = yaml
        cls.k8s = {}
        for path in sorted(glob.glob(os.path.join(d, "kubernetes", "*.yaml"))):
            with open(path) as f:
                for doc in yaml.safe_load_all(f):
                    if doc:
                        cls.k8s.setdefault(doc["kind"], []).append(doc)
        cls.sts = cls.k8s["StatefulSet"][0]
        cls.pod = cls.sts["spec"]["template"]["spec"]
        cls.container = cls.pod["containers"][0]
        cls.sts_args = parse_args(cls.container["args"])
        cls.unit = unit_lines(os.path.join(d, "systemd", "mnemod.service"))
        cls.unit_exec = shlex.split(dict(cls.unit)["ExecStart"])
        cls.docker = dockerfile_instructions(os.path.join(d, "docker", "Dockerfile"))

    # ---- every file parses; every flag exists ----------------------------

    def test_every_yaml_file_parses(self):
        files = sorted(glob.glob(os.path.join(ARGS.deploy_dir, "**", "*.y*ml"), recursive=True))
        self.assertGreaterEqual(len(files), 5, files)
        for path in files:
            with open(path) as f:
                docs = [d for d in self.yaml.safe_load_all(f) if d is not None]
            self.assertTrue(docs, "%s holds no document" % path)
        for kind in ("StatefulSet", "Service", "PodDisruptionBudget"):
            self.assertIn(kind, self.k8s)

    def check_flags(self, where, flags, known, binary):
        unknown = sorted(set(flags) - known)
        self.assertFalse(unknown, "%s uses flags %s that `%s --help` does not list"
                         % (where, ", ".join(unknown), os.path.basename(binary)))

    def test_every_flag_exists(self):
        self.assertIn("--listen", self.mnemod_flags)  # the help was read at all
        self.check_flags("systemd ExecStart", parse_args(self.unit_exec[1:]),
                         self.mnemod_flags, ARGS.mnemod)
        self.check_flags("the StatefulSet's args", self.sts_args, self.mnemod_flags, ARGS.mnemod)
        entry, health = None, None
        envs = []
        for word, rest in self.docker:
            if word == "ENTRYPOINT":
                entry = exec_form(rest)
            elif word == "HEALTHCHECK":
                health = exec_form(rest.split(" CMD ", 1)[1])
            elif word == "ENV":
                envs += ENV_RE.findall(rest)
        self.assertEqual(os.path.basename(entry[0]), "mnemod")
        self.check_flags("the Dockerfile's ENTRYPOINT", parse_args(entry[1:]), self.mnemod_flags,
                         ARGS.mnemod)
        self.check_flags("the Dockerfile's HEALTHCHECK",
                         [a for a in health if a.startswith("--")], self.mnemo_flags, ARGS.mnemo)
        env_in_k8s = [e["name"] for e in self.container.get("env", [])]
        unknown = sorted(set(envs + env_in_k8s + ENV_RE.findall(dict(self.unit).get(
            "Environment", ""))) - self.mnemod_env)
        self.assertFalse(unknown, "MNEMO_* variables unknown to mnemod --help: %s" % unknown)

    # ---- the arguments really start a mnemod -----------------------------

    def start_with(self, argv, tmp, certs):
        """Runs mnemod with argv's flags, every absolute path moved under tmp
        (TLS and token files from make_certs.sh) and every listen address
        onto a free loopback port. Returns (proc, {flag: new address})."""
        flags = parse_args(argv)
        out, moved = [], {}
        for flag, values in flags.items():
            for v in values:
                out.append(flag)
                if v is None:
                    continue
                if flag in ("--listen", "--health-listen", "--metrics-listen"):
                    v = "127.0.0.1:%d" % proxy_lib.free_port()
                    moved[flag] = v
                elif flag in ("--tls-cert", "--tls-key"):
                    v = os.path.join(certs, "server.pem" if flag == "--tls-cert" else "server.key")
                elif flag == "--auth-tokens":
                    v = os.path.join(tmp, "tokens")
                    with open(v, "w") as f:
                        f.write("%s admin deploy-test\n" % ("0" * 64))
                elif v.startswith("/"):
                    v = os.path.join(tmp, v.lstrip("/"))
                    # mnemod creates the data dir, not its parents.
                    os.makedirs(os.path.dirname(v) if flag == "--data-dir" else v,
                                exist_ok=True)
                out.append(v)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNEMO_")}
        log = open(os.path.join(tmp, "mnemod.log"), "wb")
        proc = subprocess.Popen([ARGS.mnemod] + out, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env)
        log.close()
        return proc, moved

    def run_and_probe(self, name, argv, health_flag):
        tmp = tempfile.mkdtemp(prefix="mnemo-deploy-")
        certs = os.path.join(tmp, "certs")
        subprocess.run(["bash", ARGS.make_certs, certs], check=True, capture_output=True)
        proc, moved = self.start_with(argv, tmp, certs)
        log_path = os.path.join(tmp, "mnemod.log")
        try:
            addr = moved[health_flag]
            proxy_lib.wait_port(port_of(addr), proc, log_path)
            # The CLI against the probe port, in plaintext: what a probe sees.
            r = subprocess.run([ARGS.mnemo, "--server", addr, "--timeout", "5000", "health"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "SERVING"),
                             "%s: health on %s: %s%s\nlog:\n%s" % (name, health_flag, r.stdout,
                                                                   r.stderr, proxy_lib.read(log_path)))
            if "--metrics-listen" in moved:
                # What the scrape annotations point at answers.
                url = "http://%s/metrics" % moved["--metrics-listen"]
                with urllib.request.urlopen(url, timeout=10) as resp:
                    self.assertEqual(resp.status, 200)
                    self.assertIn(b"process_resident_memory_bytes", resp.read())
        finally:
            proc.send_signal(signal.SIGINT)  # twice skips the drain delay
            time.sleep(0.2)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            log = proxy_lib.read(log_path)
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(code, 0, "%s: mnemod exited %r; log:\n%s" % (name, code, log))

    def test_systemd_arguments_start_mnemod(self):
        self.run_and_probe("systemd ExecStart", self.unit_exec[1:], "--listen")

    def test_statefulset_arguments_start_mnemod(self):
        probe = "--health-listen" if "--health-listen" in self.sts_args else "--listen"
        self.run_and_probe("StatefulSet args", self.container["args"], probe)

    def test_image_config_starts_mnemod_and_its_healthcheck_passes(self):
        """The image without Docker: ENTRYPOINT with the documented
        `--insecure`, the image's ENV (paths under a temp dir, addresses
        on free loopback ports), then the HEALTHCHECK's own command."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNEMO_")}
        entry, health = None, None
        for w, rest in self.docker:
            if w == "ENV":
                env.update(dict(kv.split("=", 1) for kv in shlex.split(rest)))
            elif w == "ENTRYPOINT":
                entry = exec_form(rest)
            elif w == "HEALTHCHECK":
                health = exec_form(rest.split(" CMD ", 1)[1])
        tmp = tempfile.mkdtemp(prefix="mnemo-image-")
        self.addCleanup(shutil.rmtree, tmp, True)
        moved = {}
        for k in ("MNEMO_LISTEN", "MNEMO_HEALTH_LISTEN", "MNEMO_METRICS_LISTEN"):
            if k in env:
                moved[env[k]] = "127.0.0.1:%d" % proxy_lib.free_port()
                env[k] = moved[env[k]]
        for k in ("MNEMO_DATA_DIR", "MNEMO_ALLOW_ROOTS"):
            env[k] = os.path.join(tmp, env[k].lstrip("/"))
            os.makedirs(env[k] if k == "MNEMO_ALLOW_ROOTS" else os.path.dirname(env[k]),
                        exist_ok=True)
        log_path = os.path.join(tmp, "mnemod.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([ARGS.mnemod] + entry[1:] + ["--insecure"], env=env,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
        try:
            server = health[health.index("--server") + 1]
            target = [new for old, new in moved.items() if port_of(old) == port_of(server)]
            self.assertTrue(target, "HEALTHCHECK asks %s, which no MNEMO_*LISTEN serves" % server)
            proxy_lib.wait_port(port_of(target[0]), proc, log_path)
            cmd = [ARGS.mnemo] + [target[0] if a == server else a for a in health[1:]]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "SERVING"),
                             "HEALTHCHECK %s: %s%s\nlog:\n%s" % (cmd, r.stdout, r.stderr,
                                                                 proxy_lib.read(log_path)))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        self.assertEqual(code, 0, proxy_lib.read(log_path))

    # ---- Kubernetes fields that must agree with the flags ----------------

    def one(self, flag):
        values = self.sts_args.get(flag)
        self.assertTrue(values and len(values) == 1 and values[0], "StatefulSet: one %s" % flag)
        return values[0]

    def test_kubernetes_ports_and_probes(self):
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        listen = port_of(self.one("--listen"))
        self.assertEqual(ports.get("grpc"), listen, "container port 'grpc' != --listen's port")
        self.assertIn("--health-listen", self.sts_args,
                      "kubelet's probes need the plaintext health port when --listen "
                      "wants TLS or tokens")
        health = port_of(self.one("--health-listen"))
        self.assertEqual(ports.get("health"), health, "container port 'health' != "
                         "--health-listen's port")
        if "--metrics-listen" in self.sts_args:
            metrics = port_of(self.one("--metrics-listen"))
            self.assertEqual(ports.get("metrics"), metrics, "container port 'metrics' != "
                             "--metrics-listen's port")
            notes = self.sts["spec"]["template"]["metadata"].get("annotations", {})
            if "prometheus.io/port" in notes:
                self.assertEqual(int(notes["prometheus.io/port"]), metrics)
                self.assertEqual(notes.get("prometheus.io/path"), "/metrics")
        for probe in ("readinessProbe", "livenessProbe"):
            p = self.container[probe]
            self.assertIn("grpc", p, "%s: a native gRPC probe" % probe)
            self.assertEqual(p["grpc"]["port"], health, "%s probes another port than "
                             "--health-listen's" % probe)
        for svc in self.k8s["Service"]:
            self.assertEqual(svc["spec"]["selector"], self.sts["spec"]["template"]["metadata"]
                             ["labels"], svc["metadata"]["name"])
            for p in svc["spec"]["ports"]:
                self.assertEqual(p.get("appProtocol"), "grpc", svc["metadata"]["name"])
                target = p["targetPort"]
                self.assertIn(target if isinstance(target, int) else ports.get(target),
                              ports.values(), "Service targets a port the pod does not have")
        names = [s["metadata"]["name"] for s in self.k8s["Service"]
                 if s["spec"].get("clusterIP") == "None"]
        self.assertIn(self.sts["spec"]["serviceName"], names, "serviceName: a headless Service")
        pdb = self.k8s["PodDisruptionBudget"][0]
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"],
                         self.sts["spec"]["selector"]["matchLabels"])

    def test_kubernetes_grace_covers_the_drain(self):
        drain = duration_s(self.one("--drain-delay")) if "--drain-delay" in self.sts_args else 0
        grace = int(self.one("--grace-ms")) / 1000.0
        pre = 0
        hook = self.container.get("lifecycle", {}).get("preStop", {})
        if "sleep" in hook:
            pre = hook["sleep"]["seconds"]
        elif "exec" in hook:
            m = re.search(r"sleep\s+(\d+)", " ".join(hook["exec"]["command"]))
            pre = int(m.group(1)) if m else 0
        tgps = self.pod["terminationGracePeriodSeconds"]
        self.assertGreaterEqual(tgps, pre + drain + grace,
                                "terminationGracePeriodSeconds %s < preStop %s + --drain-delay %s "
                                "+ --grace-ms %s s: kubelet would SIGKILL mid-drain"
                                % (tgps, pre, drain, grace))
        live = self.container["livenessProbe"]
        self.assertGreater(live["periodSeconds"] * live["failureThreshold"], tgps,
                           "the liveness probe would restart a draining pod")
        self.assertGreater(drain, 0, "--drain-delay: endpoint removal takes time")

    def test_kubernetes_volumes_security_resources(self):
        mounts = {m["name"]: m for m in self.container["volumeMounts"]}
        claims = [c["metadata"]["name"] for c in self.sts["spec"]["volumeClaimTemplates"]]
        data = [m for name, m in mounts.items() if name in claims]
        self.assertEqual([m["mountPath"] for m in data], [self.one("--data-dir")],
                         "the PersistentVolumeClaim is not mounted at --data-dir")
        for root in self.sts_args.get("--allow-root", []):
            m = [m for m in mounts.values() if m["mountPath"] == root]
            self.assertTrue(m and m[0].get("readOnly"), "--allow-root %s: not a read-only "
                            "mount" % root)
        for flag in ("--tls-cert", "--tls-key", "--auth-tokens"):
            for v in self.sts_args.get(flag, []):
                self.assertTrue(any(v.startswith(m["mountPath"] + "/") and m.get("readOnly")
                                    for m in mounts.values()), "%s %s: no read-only mount"
                                % (flag, v))
        sc = self.pod["securityContext"]
        csc = self.container["securityContext"]
        self.assertTrue(sc["runAsNonRoot"])
        self.assertTrue(csc["readOnlyRootFilesystem"])
        self.assertFalse(csc["allowPrivilegeEscalation"])
        user = [rest for word, rest in self.docker if word == "USER"][-1]
        self.assertEqual(str(sc["runAsUser"]), user.split(":")[0],
                         "the pod's runAsUser is not the image's USER")
        req = self.container["resources"]["requests"]
        self.assertIn("cpu", req)
        self.assertIn("memory", req)

    # ---- Dockerfile --------------------------------------------------------

    def test_dockerfile(self):
        words = [w for w, _ in self.docker]
        froms = [rest for w, rest in self.docker if w == "FROM"]
        self.assertGreaterEqual(len(froms), 2, "multi-stage")
        args = dict(rest.split("=", 1) for w, rest in self.docker if w == "ARG" and "=" in rest)
        images = [re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), f.split()[0])
                  for f in froms]
        for image in images:
            self.assertRegex(image, r"^debian:12\b|^debian:bookworm\b", "Debian 12: %s" % image)
        final = len(words) - 1 - words[::-1].index("FROM")
        users = [rest for w, rest in self.docker[final:] if w == "USER"]
        self.assertTrue(users, "the runtime stage sets a USER")
        self.assertNotIn(users[-1].split(":")[0], ("0", "root"))
        env = {}
        for w, rest in self.docker:
            if w == "ENV":
                env.update(dict(kv.split("=", 1) for kv in shlex.split(rest)))
        volumes = [v for w, rest in self.docker if w == "VOLUME" for v in exec_form(rest)]
        self.assertIn(env.get("MNEMO_DATA_DIR"), volumes, "the data dir is a volume")
        health = [rest for w, rest in self.docker if w == "HEALTHCHECK"]
        self.assertEqual(len(health), 1)
        cmd = exec_form(health[0].split(" CMD ", 1)[1])
        self.assertEqual((cmd[0], cmd[-1]), ("mnemo", "health"))
        server = cmd[cmd.index("--server") + 1]
        exposed = {int(p.split("/")[0]) for w, rest in self.docker if w == "EXPOSE"
                   for p in rest.split()}
        self.assertIn(port_of(env["MNEMO_LISTEN"]), exposed)
        self.assertIn(port_of(server), {port_of(env["MNEMO_LISTEN"])} |
                      ({port_of(env["MNEMO_HEALTH_LISTEN"])} if "MNEMO_HEALTH_LISTEN" in env
                       else set()), "HEALTHCHECK asks a port mnemod does not serve")
        # The build stage installs the -dev package of every library the
        # top-level CMakeLists.txt asks pkg-config for, and LevelDB's.
        build_stage = self.docker[:final]
        installed = set()
        for w, rest in build_stage:
            if w == "RUN" and "apt-get install" in rest:
                installed |= set(re.findall(r"(?<![\w/-])([a-z0-9][a-z0-9.+-]+)(?=\s|$)",
                                            rest.split("apt-get install", 1)[1]))
        with open(os.path.join(ARGS.deploy_dir, os.pardir, "CMakeLists.txt")) as f:
            modules = [m for line in f for m in re.findall(
                r"pkg_check_modules\(\w+ REQUIRED IMPORTED_TARGET ([^)#]+)\)", line)]
        modules = " ".join(modules).split()
        self.assertIn("grpc", modules)
        for module in modules:
            pc = subprocess.run(["pkg-config", "--path", module], capture_output=True,
                                text=True, timeout=30).stdout.strip()
            owner = subprocess.run(["dpkg-query", "-S", pc], capture_output=True, text=True,
                                   timeout=120).stdout.split(":")[0]
            self.assertIn(owner, installed, "the Dockerfile's build stage lacks %s (pkg-config "
                          "module %s)" % (owner, module))
        self.assertIn("libleveldb-dev", installed)
        # The image's runtime-package helper works on this machine's mnemod,
        # and on its mnemo unless this build links libmnemo shared (tests/
        # run.sh's build/ does; the image links it statically, so no package
        # need hold it there).
        binaries = [ARGS.mnemod]
        ldd = subprocess.run(["ldd", ARGS.mnemo], capture_output=True, text=True, timeout=60)
        if "libmnemo.so" not in ldd.stdout:
            binaries.append(ARGS.mnemo)
        r = subprocess.run(["sh", os.path.join(ARGS.deploy_dir, "docker", "runtime-packages.sh")] +
                           binaries, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("libgrpc29", r.stdout.split())

    # ---- systemd -------------------------------------------------------------

    def test_systemd_unit(self):
        keys = {}
        for k, v in self.unit:
            keys.setdefault(k, []).append(v)
        for k, v in (("DynamicUser", "yes"), ("ProtectSystem", "strict"),
                     ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes")):
            self.assertEqual(keys.get(k), [v], k)
        flags = parse_args(self.unit_exec[1:])
        state = keys["StateDirectory"][0]
        self.assertEqual(flags["--data-dir"], ["/var/lib/" + state],
                         "--data-dir is not the StateDirectory")
        readonly = " ".join(keys.get("ReadOnlyPaths", []) + keys.get("BindReadOnlyPaths", []))
        for root in flags.get("--allow-root", []):
            self.assertIn(root, readonly.split(), "--allow-root %s is not read-only" % root)
        tool = shutil.which("systemd-analyze")
        if tool is None:
            self.skipTest("systemd-analyze is not installed: `systemd-analyze verify` not run")
        tmp = tempfile.mkdtemp(prefix="mnemo-unit-")
        try:
            unit = os.path.join(tmp, "mnemod.service")
            with open(os.path.join(ARGS.deploy_dir, "systemd", "mnemod.service")) as f:
                text = f.read()
            # verify checks that ExecStart's binary exists: the built one.
            text = text.replace("ExecStart=" + self.unit_exec[0],
                                "ExecStart=" + os.path.abspath(ARGS.mnemod))
            with open(unit, "w") as f:
                f.write(text)
            r = subprocess.run([tool, "verify", unit], capture_output=True, text=True,
                               timeout=60)
            about_unit = [line for line in (r.stdout + r.stderr).splitlines()
                          if "mnemod.service" in line]
            self.assertEqual((r.returncode, about_unit), (0, []),
                             "systemd-analyze verify:\n" + r.stdout + r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- proxies -------------------------------------------------------------

    def test_proxy_configs_check(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        for tool in (nginx, haproxy):
            self.assertTrue(os.path.exists(tool), "%s is not installed" % tool)
        tmp = tempfile.mkdtemp(prefix="mnemo-proxycheck-")
        try:
            with open(os.path.join(ARGS.deploy_dir, "nginx", "mnemo.conf")) as f:
                site = proxy_lib.render_placeholders(f.read(), {
                    "MNEMO_NGINX_LISTEN": "127.0.0.1:1", "MNEMO_UPSTREAM": "127.0.0.1:2"})
            with open(os.path.join(tmp, "site.conf"), "w") as f:
                f.write(site)
            with open(os.path.join(tmp, "nginx.conf"), "w") as f:
                f.write("pid %s/nginx.pid; error_log %s/error.log;\nevents {}\n"
                        "http { access_log off; include %s/site.conf; }\n" % (tmp, tmp, tmp))
            r = subprocess.run([nginx, "-t", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"),
                                "-e", os.path.join(tmp, "error.log")],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, "nginx -t:\n" + r.stdout + r.stderr)
            env = dict(os.environ, MNEMO_HAPROXY_BIND="127.0.0.1:1", MNEMO_BACKEND1="127.0.0.1:2",
                       MNEMO_BACKEND2="127.0.0.1:3", MNEMO_HEALTH_PORT1="4",
                       MNEMO_HEALTH_PORT2="5")
            r = subprocess.run([haproxy, "-c", "-f", os.path.join(ARGS.deploy_dir, "haproxy",
                                                                  "mnemo.cfg")],
                               capture_output=True, text=True, timeout=30, env=env)
            self.assertEqual(r.returncode, 0, "haproxy -c:\n" + r.stdout + r.stderr)
            self.assertNotIn("WARNING", r.stdout + r.stderr, "haproxy -c warns")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_envoy_example_agrees(self):
        """Not run against a real Envoy (not in Debian): its health port
        is the Kubernetes files' and its stream timeout spans heartbeats."""
        with open(os.path.join(ARGS.deploy_dir, "envoy", "envoy.yaml")) as f:
            envoy = self.yaml.safe_load(f)
        cluster = envoy["static_resources"]["clusters"][0]
        self.assertIn("http2_protocol_options", json.dumps(cluster))
        self.assertIn("grpc_health_check", cluster["health_checks"][0])
        ep = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        self.assertEqual(ep["health_check_config"]["port_value"],
                         port_of(self.one("--health-listen")))
        hcm = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        hcm = hcm["typed_config"]
        heartbeat = 10
        m = re.search(r"--stream-heartbeat.*?default (\d+\w+)", self.mnemod_help, re.S)
        if m:
            heartbeat = duration_s(m.group(1))
        self.assertGreaterEqual(duration_s(hcm["stream_idle_timeout"]), 3 * heartbeat)
        route = hcm["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
        self.assertEqual(route["timeout"], "0s", "a route timeout would end long syncs")


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnemod", required=True)
    parser.add_argument("--mnemo", required=True, help="the mnemo CLI")
    parser.add_argument("--deploy-dir", required=True)
    parser.add_argument("--make-certs", required=True, help="tests/integration/make_certs.sh")
    ARGS, rest = parser.parse_known_args()
    for attr in ("mnemod", "mnemo", "deploy_dir", "make_certs"):
        setattr(ARGS, attr, os.path.abspath(getattr(ARGS, attr)))
    os.environ["PATH"] += os.pathsep + "/usr/sbin"
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
