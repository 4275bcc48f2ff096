"""A throwaway single-node SLURM cluster (Debian `slurm-wlm` + `munge`) for testing -profile slurm.

Everything lives in one temporary directory: a munge key and socket, slurm.conf, the controller's
state, slurmd's spool, logs and a job-completion log (jobcomp/filetxt: one line per finished job,
the record `sacct` would give without slurmdbd). munged, slurmctld and slurmd run in the foreground
as children of this process, on free ports, with no cgroups (proctrack/linuxproc, task/none), so
several clusters (or a system one) can run side by side. Clients find it through SLURM_CONF.

    with SlurmCluster() as cluster:                      # waits until the node is idle
        subprocess.run(["sbatch", "--wrap", "hostname"], env=cluster.env())

By hand (prints the SLURM_CONF to export, stops on Ctrl-C):

    .venv/bin/python -m tests.slurm_cluster
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sinfo", "squeue", "sbatch", "scontrol", "scancel")


class SlurmClusterError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_available_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    raise SlurmClusterError("MemAvailable not found in /proc/meminfo")


def missing_programs() -> list[str]:
    return [p for p in (*DAEMONS, *CLIENTS) if not shutil.which(p, path=_sbin_path())]


def _sbin_path() -> str:
    path = os.environ.get("PATH", "")
    extra = [d for d in ("/usr/sbin", "/sbin", "/usr/bin") if d not in path.split(":")]
    return ":".join([path, *extra]) if path else ":".join(extra)


class SlurmCluster:
    """One controller, one node (this host, named `hostname -s`), one partition `debug`."""

    def __init__(self, cpus: int | None = None, real_memory_mb: int | None = None, partition: str = "debug",
                 keep: bool | None = None):
        self.node = socket.gethostname().split(".")[0]
        self.cpus = cpus or os.cpu_count() or 1
        # a bit below what is free now, so the node never looks short of memory to slurmd
        self.real_memory_mb = real_memory_mb or max(512, int(_mem_available_mb() * 0.85))
        self.partition = partition
        self.keep = bool(os.environ.get("SEQ2FUNC_KEEP_SLURM")) if keep is None else keep
        self.dir: Path | None = None
        self.procs: dict[str, subprocess.Popen] = {}

    # -- paths -----------------------------------------------------------------------------------
    @property
    def conf(self) -> Path:
        return self._path("slurm.conf")

    @property
    def jobcomp_log(self) -> Path:
        return self._path("log/jobcomp.log")

    def _path(self, rel: str) -> Path:
        if self.dir is None:
            raise SlurmClusterError("cluster not started")
        return self.dir / rel

    def env(self, base: dict | None = None) -> dict:
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = _sbin_path() if base is None else env.get("PATH", _sbin_path())
        for var in [v for v in env if v.startswith(("SBATCH_", "SQUEUE_", "SINFO_", "SLURM_")) and v != "SLURM_CONF"]:
            del env[var]   # a job's own SLURM_* (tests run inside SLURM) would leak into ours
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        res = subprocess.run(list(args), env=self.env(), capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        if check and res.returncode != 0:
            raise SlurmClusterError(f"{' '.join(args)} exited {res.returncode}: {res.stderr.strip()}\n{self.log_tails()}")
        return res

    # -- start -----------------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> "SlurmCluster":
        missing = missing_programs()
        if missing:
            raise SlurmClusterError(f"SLURM/munge programs not found: {', '.join(missing)} "
                                    "(apt-get install slurm-wlm munge; `make setup` does it as root)")
        # /tmp, not pytest's 0700 tmp dirs: munged wants every directory above its socket searchable
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.dir = Path(tempfile.mkdtemp(prefix="seq2func-slurm-", dir=base))
        self.dir.chmod(0o755)
        for sub, mode in [("munge", 0o755), ("munge/key", 0o700), ("state", 0o700), ("spool", 0o755), ("log", 0o755)]:
            (self.dir / sub).mkdir(mode=mode)
            (self.dir / sub).chmod(mode)
        atexit.register(self.stop)
        try:
            self._start_munge()
            self._write_conf()
            self._spawn("slurmctld", ["slurmctld", "-D", "-c", "-f", str(self.conf)])
            self._wait(lambda: self.run("scontrol", "ping", check=False).returncode == 0, 30, "slurmctld to answer `scontrol ping`")
            self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", self.node])
            self._wait(self._node_idle, timeout, f"node {self.node} to be idle in `sinfo`")
        except BaseException:
            self.keep = True   # leave the logs for whoever reads the error
            self.stop()
            raise
        return self

    def _start_munge(self) -> None:
        key = self.dir / "munge/key/munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.munge_socket = self.dir / "munge/munge.socket"
        self._spawn("munged", ["munged", "-F", f"--socket={self.munge_socket}", f"--key-file={key}",
                               f"--log-file={self.dir / 'log/munged.log'}", f"--pid-file={self.dir / 'munge/munged.pid'}",
                               f"--seed-file={self.dir / 'munge/key/munged.seed'}", "--num-threads=2"])
        self._wait(self.munge_socket.exists, 15, "munged to create its socket")

    def _write_conf(self) -> None:
        d = self.dir
        self.ctld_port, self.slurmd_port = _free_port(), _free_port()
        while self.slurmd_port == self.ctld_port:
            self.slurmd_port = _free_port()
        conf = f"""\
# throwaway single-node cluster written by tests/slurm_cluster.py
ClusterName=seq2func
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={d}/log/jobcomp.log
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmdTimeout=60
NodeName={self.node} NodeAddr=127.0.0.1 NodeHostname={self.node} CPUs={self.cpus} RealMemory={self.real_memory_mb} State=UNKNOWN
PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
"""
        self.conf.write_text(conf)

    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = open(self.dir / f"log/{name}.out", "wb")
        env = self.env()
        self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=env, start_new_session=True)
        out.close()

    def _node_state(self) -> str:
        res = self.run("sinfo", "-h", "-N", "-n", self.node, "-o", "%T", check=False)
        return res.stdout.strip().lower() if res.returncode == 0 else ""

    def _node_idle(self) -> bool:
        state = self._node_state()
        if state.startswith(("drain", "down", "fail")) or state.endswith("drain"):
            reason = self.run("sinfo", "-h", "-R", "-o", "%E", check=False).stdout.strip()
            raise SlurmClusterError(f"node {self.node} is {state}: {reason}\n{self.log_tails()}")
        return state == "idle"

    def _wait(self, ok, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise SlurmClusterError(f"{name} exited with code {p.returncode} while waiting for {what}\n"
                                            f"{self.log_tails()}")
            if ok():
                return
            time.sleep(0.5)
        raise SlurmClusterError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.log_tails()}")

    # -- inspect ---------------------------------------------------------------------------------
    def completed_jobs(self) -> dict[str, dict[str, str]]:
        """Finished jobs from the jobcomp/filetxt log: JobId -> {field: value} (JobState, WorkDir, NodeList...)."""
        jobs = {}
        if self.dir is None or not self.jobcomp_log.exists():
            return jobs
        for line in self.jobcomp_log.read_text().splitlines():
            # `Key=value` pairs separated by spaces; values (Name=, WorkDir=) may themselves contain spaces
            fields = dict(re.findall(r"(\w+)=(.*?)(?= \w+=|$)", line))
            if "JobId" in fields:
                jobs[fields["JobId"]] = {k: v.strip() for k, v in fields.items()}
        return jobs

    def log_tails(self, lines: int = 25) -> str:
        if self.dir is None:
            return ""
        out = [f"--- SLURM test cluster in {self.dir} (SLURM_CONF={self.dir / 'slurm.conf'})"]
        for name in ("munged.log", "munged.out", "slurmctld.log", "slurmctld.out", "slurmd.log", "slurmd.out"):
            p = self.dir / "log" / name
            if name.endswith(".out") and (self.dir / "log" / name.replace(".out", ".log")).exists():
                continue   # -D copies the log file to stdout: show the file once
            if p.exists() and p.stat().st_size:
                tail = p.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(out)

    # -- stop ------------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.dir is None:
            return
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            jobs = self.run("squeue", "-h", "-o", "%i", check=False).stdout.split()
            if jobs:
                self.run("scancel", *jobs, check=False)
                end = time.monotonic() + 15
                while time.monotonic() < end and self.run("squeue", "-h", "-o", "%i", check=False).stdout.split():
                    time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):   # clients of munged go first
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        self.procs.clear()
        atexit.unregister(self.stop)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> "SlurmCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> int:
    cluster = SlurmCluster(keep=True)
    try:
        cluster.start()
    except SlurmClusterError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print(f"SLURM test cluster up in {cluster.dir}; node {cluster.node}, {cluster.cpus} CPUs, "
          f"{cluster.real_memory_mb} MB; Ctrl-C stops it.\n  export SLURM_CONF={cluster.conf}", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        while not stop and all(p.poll() is None for p in cluster.procs.values()):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
