#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the workflow's SLURM test (`make test-slurm`),
# from Debian's packages (munge, slurm-wlm, slurmdbd, mariadb-server), run as root, with every
# configuration, database, state, log and PID file in one folder:
#
#   munged      authentication (the machine's own when it runs: then it is left alone)
#   mariadbd    the accounting database, on 127.0.0.1 only
#   slurmdbd    accounting, so that `sacct` lists finished jobs and `sacctmgr` knows the account
#   slurmctld   the controller, with one partition
#   slurmd      the one compute node: this machine
#
#   tools/slurm_local.sh start DIR   configure and start them all, register the cluster, the
#                                    account and root as its user; wait for the node to be idle
#   tools/slurm_local.sh stop DIR    stop what `start DIR` started (by PID files, in reverse)
#
# Clients find the cluster through SLURM_CONF=DIR/slurm.conf. The partition and account are
# named by SLURM_LOCAL_PARTITION and SLURM_LOCAL_ACCOUNT (default: socflow); the ports by
# SLURM_LOCAL_PORT_BASE (default 16817: slurmctld, +1 slurmd, +2 slurmdbd, +3 the database).
set -euo pipefail

PARTITION=${SLURM_LOCAL_PARTITION:-socflow}
ACCOUNT=${SLURM_LOCAL_ACCOUNT:-socflow}
PORT=${SLURM_LOCAL_PORT_BASE:-16817}
CLUSTER=socflow-local

die() {
	echo "slurm_local.sh: $*" >&2
	exit 1
}

# Wait up to $1 seconds for the command after it to succeed.
wait_for() {
	local seconds=$1
	shift
	for _ in $(seq "$((seconds * 2))"); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	return 1
}

# Stop the daemons first, then show the logs and fail.
fail() {
	local dir=$1 msg=$2
	for f in "$dir"/log/*.log "$dir"/munge/*.log; do
		echo "--- $f" >&2
		tail -n 15 "$f" >&2 || true
	done
	stop "$dir"
	die "$msg (logs above, in $dir/log)"
}

node_idle() {
	case $(sinfo -h -N -o '%T' | head -1) in
	idle | mixed | allocated) return 0 ;;
	*) return 1 ;;
	esac
}

start() {
	local dir=$1
	[ "$(id -u)" -eq 0 ] || die "the local SLURM cluster runs its daemons as root; run as root"
	for exe in munged mariadbd mariadb-install-db mariadb-admin slurmdbd slurmctld slurmd \
		sbatch sacct sacctmgr sinfo; do
		command -v "$exe" >/dev/null ||
			die "$exe is missing (apt-get install munge slurm-wlm slurmdbd mariadb-server)"
	done
	if [ -e "$dir/run/slurmctld.pid" ] && kill -0 "$(cat "$dir/run/slurmctld.pid")" 2>/dev/null; then
		die "a local cluster already runs from $dir: stop it first ($0 stop $dir)"
	fi
	for port in "$PORT" $((PORT + 1)) $((PORT + 2)) $((PORT + 3)); do
		if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			die "port $port is in use (another local cluster?): stop it, or choose other ports" \
				"with SLURM_LOCAL_PORT_BASE"
		fi
	done
	# DIR is emptied: only a folder this script made before (it leaves a marker) or a new one.
	if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/.socflow-slurm-local" ]; then
		die "$dir exists and was not made by this script: name a new folder"
	fi
	rm -rf "$dir"
	mkdir -p "$dir"/{state,spool,log,run,munge,db}
	dir=$(cd "$dir" && pwd)
	touch "$dir/.socflow-slurm-local"
	# munged, as its own user, writes in DIR/munge: DIR (e.g. from mktemp -d) must be open to it.
	chmod 0755 "$dir"
	local host cpus mem
	host=$(hostname -s)
	cpus=$(nproc)
	# Half the machine's memory: the node must not promise what the host cannot give.
	mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
	export SLURM_CONF=$dir/slurm.conf

	cat >"$dir/slurm.conf" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$((PORT + 2))
AccountingStorageEnforce=associations
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmctldParameters=enable_configless
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
	cat >"$dir/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=$host
DbdAddr=127.0.0.1
DbdPort=$((PORT + 2))
SlurmUser=root
PidFile=$dir/run/slurmdbd.pid
LogFile=$dir/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$((PORT + 3))
StorageUser=root
StorageLoc=slurm_acct_db
EOF
	chmod 600 "$dir/slurmdbd.conf"

	# munged on its standard socket (SLURM's clients use that one whatever slurm.conf says):
	# the machine's own when it runs, else one started here and stopped by `stop`.
	if ! munge -n </dev/null >/dev/null 2>&1; then
		mkdir -p /run/munge
		chown munge:munge /run/munge "$dir/munge"
		runuser -u munge -- munged --pid-file="$dir/munge/munged.pid" \
			--log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
			fail "$dir" "munged did not start"
		wait_for 10 munge -n || fail "$dir" "munged does not answer"
	fi

	# The accounting database: a throwaway MariaDB reachable from 127.0.0.1 only, without
	# grant tables (nothing but slurmdbd talks to it, and it is deleted with DIR).
	mariadb-install-db --no-defaults --datadir="$dir/db" --user=root \
		--auth-root-authentication-method=normal --skip-test-db >"$dir/log/mariadb-install.log" 2>&1 ||
		fail "$dir" "mariadb-install-db failed"
	(
		cd "$dir"
		setsid mariadbd --no-defaults --datadir="$dir/db" --user=root --skip-grant-tables \
			--innodb-lock-wait-timeout=900 \
			--bind-address=127.0.0.1 --port=$((PORT + 3)) --socket="$dir/run/mariadb.socket" \
			--pid-file="$dir/run/mariadbd.pid" --log-error="$dir/log/mariadb.log" \
			</dev/null >/dev/null 2>&1 &
	)
	wait_for 60 mariadb-admin --no-defaults --socket="$dir/run/mariadb.socket" ping ||
		fail "$dir" "the accounting database did not come up within 60 s"

	slurmdbd || fail "$dir" "slurmdbd did not start"
	wait_for 60 sacctmgr -n list cluster || fail "$dir" "slurmdbd did not answer within 60 s"
	sacctmgr -i add cluster "$CLUSTER" >/dev/null
	sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" description=socflow-test \
		organization=socflow >/dev/null
	# root, and the user who ran `sudo`, may submit jobs under the account.
	for user in root ${SUDO_USER:-}; do
		sacctmgr -i add user "$user" account="$ACCOUNT" cluster="$CLUSTER" >/dev/null
	done

	slurmctld -i || fail "$dir" "slurmctld did not start"
	# slurmd takes its configuration from slurmctld ("configless", as on many clusters) and
	# keeps a copy in /run/slurm/conf, where commands inside jobs find it: the SLURM plugin
	# clears SLURM_* variables (SLURM_CONF too) before its `srun` in each job.
	slurmd --conf-server "127.0.0.1:$PORT" || fail "$dir" "slurmd did not start"
	wait_for 60 node_idle || fail "$dir" "the node did not become idle within 60 s"
	echo "local SLURM cluster up: partition $PARTITION, account $ACCOUNT, node $host" \
		"($cpus CPUs, $mem MB); export SLURM_CONF=$dir/slurm.conf"
}

stop() {
	local dir=$1
	for pidfile in "$dir/run/slurmd.pid" "$dir/run/slurmctld.pid" "$dir/run/slurmdbd.pid" \
		"$dir/run/mariadbd.pid" "$dir/munge/munged.pid"; do
		[ -f "$pidfile" ] || continue
		local pid
		pid=$(cat "$pidfile")
		if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
			for _ in $(seq 60); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.5
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$pidfile"
	done
	# slurmd's link to its configuration, when it points into DIR.
	if [ "$(readlink /run/slurm/conf 2>/dev/null)" = "$dir/spool/conf-cache" ]; then
		rm -f /run/slurm/conf
	fi
}

case ${1:-} in
start) start "${2:?usage: $0 start DIR}" ;;
stop) stop "${2:?usage: $0 stop DIR}" ;;
*) die "usage: $0 start|stop DIR" ;;
esac
