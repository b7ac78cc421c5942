#!/usr/bin/env bash
# RCC sessions over SIP, under load (docs/performance.md, "RCC sessions over
# SIP (load)"). SIPp opens N sessions over ONE TCP connection, as a Lync
# front end multiplexes its users, holds them all at once, then every
# session sends K GetDoNotDisturb INFOs back to back and signs out. The same
# load runs against rccbare (a bare sipgo server answering 200 with fixed
# bodies) and against rccserver; the table gives sessions held, requests/s,
# memory per session (RSS, not Go heap) and the rccserver/bare ratios.
#
#   go tool task load                 # N=1000
#   go tool task load N=10000 RATE=2000
#   examples/sipp/load/run.sh         # same, with environment variables
#
# N      sessions (default 1000)
# RATE   sign-ins per second while opening them (default 1000)
# REQS   INFO requests in total, K = ceil(REQS/N) per session (default 100000)
# REQ    the request: features (GetCSTAFeatures, default), dnd (GetDoNotDisturb)
#        or makecall (MakeCall from a station that is not registered: the
#        whole request path, answered resourceOutOfService)
# KAMAILIO  0 skips the third baseline, Kamailio answering 200 statelessly
# KEEPALIVE keep-alive period of rccserver in seconds (default 0: off, as the
#           bare server sends none; on, each session has its keep-alive timer)
# HOLD      seconds to hold every session before the requests start (default
#           0); with HOLD >= 35 sipgo's INVITE transactions (64·T1) are gone
#           and "heap/session" is what a held session really costs
# SERVERS   which servers to load (default: rccbare kamailio rccserver)
# IDLE      with IDLE=H, rccserver is loaded a second time ("rccserver+idle")
#           with H idle sessions signed in first on a second SIPp connection
#           (MonitorStart done, held until the end), and the table gives the
#           ratio held / none of the same run (issue 16: >= 0.8 at 100,000);
#           IDLE_RATE their sign-ins per second (default 1000: faster, on a
#           loaded machine SIPp takes a late retransmitted 200 for the
#           MonitorStart's answer and aborts the session)
# PROFILE   seconds of CPU profile of rccserver from its admin listener during
#           the request phase, written to the work directory (use KEEP=1)
# RCC_BIN   an rccserver binary to load instead of building this tree's
#           (a "before" figure in the same conditions)
# KEEP   keep the work directory (logs, SIPp traces) instead of removing it
# CLUSTER   1 adds rccserver-etcd: the same rccserver with cluster.* set,
#           joined to a one-member etcd (Debian etcd-server, data in
#           /dev/shm) that the script starts; every sign-in then takes the
#           station in etcd (one transaction). The table gains the
#           rccserver-etcd / rccserver ratios (sign-ins/s, requests/s).
#
# The rccserver run uses the embedded default configuration on loopback
# ports with session.keepalive 0: the bare server sends no keep-alive
# either, so the comparison is of the request path (SIPp -aa would answer
# keep-alives if they were on).
set -euo pipefail

N=${N:-1000}
REQ=${REQ:-features}
KAMAILIO=${KAMAILIO:-1}
RATE=${RATE:-1000}
REQS=${REQS:-100000}
K=$(((REQS + N - 1) / N))
((K >= 1)) || K=1

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"
scenario=$root/examples/sipp/load/rcc_load.xml

if ! command -v sipp >/dev/null; then
	echo "sipp is missing: installing the test dependencies" >&2
	go tool task install-test-deps
fi

ns=http://www.ecma-international.org/standards/ecma-323/csta/ed3
case $REQ in
features) body="<GetCSTAFeatures xmlns=\"$ns\"/>" answer=GetCSTAFeaturesResponse ;;
dnd) body="<GetDoNotDisturb xmlns=\"$ns\"><device>tel:+13175551010</device></GetDoNotDisturb>" answer=GetDoNotDisturbResponse ;;
makecall) body="<MakeCall xmlns=\"$ns\"><callingDevice>tel:+13175551010</callingDevice><calledDirectoryNumber>tel:+13175551020</calledDirectoryNumber><autoOriginate>doNotPrompt</autoOriginate></MakeCall>" answer=CSTAErrorCode ;;
*)
	echo "REQ=$REQ: want features, dnd or makecall" >&2
	exit 2
	;;
esac

work=$(mktemp -d /tmp/rccload.XXXXXX)
server_pid=""
sipp_pid=""
etcd_pid=""
etcd_dir=""
admin_addr=""
idle_pid=""
cleanup() {
	[[ -n $sipp_pid ]] && kill "$sipp_pid" 2>/dev/null || true
	[[ -n $idle_pid ]] && kill "$idle_pid" 2>/dev/null || true
	[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
	[[ -n $etcd_pid ]] && kill "$etcd_pid" 2>/dev/null || true
	[[ -n $etcd_dir ]] && rm -rf "$etcd_dir"
	if [[ -n ${KEEP:-} ]]; then
		echo "work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# The scenario with the chosen request; Kamailio's variant checks no body.
grep -q '<GetDoNotDisturb xmlns=' "$scenario" || {
	echo "$scenario changed shape: cannot set the request" >&2
	exit 1
}
sed -e "s|<GetDoNotDisturb xmlns=.*</GetDoNotDisturb>|$body|" \
	-e "s|&lt;GetDoNotDisturbResponse\\[ &gt;\\]|\&lt;$answer[ \&gt;/]|" "$scenario" >"$work/rcc_load.xml"
sed -e 's/ check_it="true"//' "$work/rcc_load.xml" >"$work/rcc_load_nocheck.xml"

echo "building rccserver and rccbare" >&2
if [[ -n ${RCC_BIN:-} ]]; then
	mkdir -p "$work/bin" && cp "$RCC_BIN" "$work/bin/rccserver" # another build of rccserver, e.g. the commit before
else
	go build -o "$work/bin/rccserver" ./rccserver/cmd/rccserver
fi
go build -o "$work/bin/rccbare" ./rccserver/cmd/rccbare

# The embedded default on loopback ports chosen by the kernel, keep-alive off.
sed -e 's/addr: 127\.0\.0\.1:11001/addr: 127.0.0.1:0/' \
	-e 's/addr: 127\.0\.0\.1:5060/addr: 127.0.0.1:0/' \
	-e "s/keepalive: 60 /keepalive: ${KEEPALIVE:-0} /" \
	-e "s#file: directory.yaml#file: $root/examples/directory.yaml#" \
	examples/rccserver.yaml >"$work/rccserver.yaml"
cat examples/station.yaml >>"$work/rccserver.yaml"
# rccserver-ka0: the same with keep-alive off, the idle baseline of the
# keep-alive CPU figure.
sed -e "s/keepalive: ${KEEPALIVE:-0} /keepalive: 0 /" "$work/rccserver.yaml" >"$work/rccserver-ka0.yaml"
grep -q "keepalive: ${KEEPALIVE:-0} " "$work/rccserver.yaml" && ! grep -qE ':(11001|5060)$' "$work/rccserver.yaml" || {
	echo "examples/rccserver.yaml changed shape: cannot switch keep-alive off or move off the fixed ports" >&2
	exit 1
}

# start_etcd: a one-member etcd on free loopback ports, data in /dev/shm;
# sets etcd_url (not in a subshell: the cleanup needs etcd_pid).
start_etcd() {
	local cport pport i
	if [[ ! -x /usr/bin/etcd ]]; then
		echo "CLUSTER=1 needs etcd (Debian package etcd-server)" >&2
		return 1
	fi
	cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	etcd_dir=$(mktemp -d /dev/shm/rccload-etcd.XXXXXX)
	/usr/bin/etcd --name load --data-dir "$etcd_dir/data" \
		--listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "load=http://127.0.0.1:$pport" --log-level error >"$work/etcd.log" 2>&1 &
	etcd_pid=$!
	for i in $(seq 1 100); do
		curl -s "http://127.0.0.1:$cport/health" | grep -q '"health":"true"' && {
			etcd_url=http://127.0.0.1:$cport
			return 0
		}
		sleep 0.1
	done
	echo "etcd did not start; its log:" >&2
	cat "$work/etcd.log" >&2
	return 1
}

now_ms() { date +%s%3N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_ms PID: user + system CPU time of the process so far.
clk_tck=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$clk_tck" '{sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' "/proc/$1/stat"; }
# heap_bytes URL: the server's live heap after a GC ("admin:PORT": rccserver's
# admin listener; empty: not measurable, 0).
heap_bytes() {
	case $1 in
	"") echo 0 ;;
	admin:*)
		curl -s -o /dev/null "http://127.0.0.1:${1#admin:}/debug/pprof/heap?gc=1"
		curl -s "http://127.0.0.1:${1#admin:}/metrics" | awk '/^go_memstats_heap_alloc_bytes / {printf "%d\n", $2}'
		;;
	*) curl -s "$1" ;;
	esac
}
# cpu_tree_ms PID: the same for the process and its children (Kamailio's workers).
cpu_tree_ms() {
	local total=0 p
	for p in "$1" $(pgrep -P "$1" || true); do
		total=$((total + $(cpu_ms "$p" 2>/dev/null || echo 0)))
	done
	echo "$total"
}

# wait_addr LOGFILE PATTERN: print the host:port the server logged.
wait_addr() {
	local i addr
	for i in $(seq 1 300); do
		addr=$(grep -oE "$2" "$1" | head -1 | grep -oE '127\.0\.0\.1:[0-9]+' || true)
		if [[ -n $addr ]]; then
			echo "$addr"
			return 0
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "server did not start; its log:" >&2
	cat "$1" >&2
	return 1
}

# hold_idle ADDR DIR: sign in IDLE sessions on a second SIPp connection
# (the same scenario, its t0 a day away, so they sit in the hold) and wait
# until every one is held. SIPp stays until load ends it.
hold_idle() {
	local addr=$1 dir=$2/idle sport far i held
	mkdir -p "$dir"
	sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	far=$(($(now_ms) + 86400000))
	(
		cd "$dir"
		exec sipp -sf "$work/rcc_load.xml" -t t1 -aa -i 127.0.0.1 -p "$sport" \
			-m "$IDLE" -l "$IDLE" -r "${IDLE_RATE:-1000}" -rp 1000 -max_socket 100 -set t0 "$far" -set k 1 \
			-nostdin -trace_logs -log_file "$dir/log" -trace_err -error_file "$dir/errors" \
			"$addr" >"$dir/sipp.out" 2>&1
	) &
	idle_pid=$!
	# Until every session is held, or SIPp has stopped adding any for 10 s
	# (a sign-in it aborted never reaches the hold).
	local last=0 still=0
	for i in $(seq 1 $((IDLE / 100 + 600))); do
		held=$(grep -c '^held' "$dir/log" 2>/dev/null || true)
		((held >= IDLE)) && break
		kill -0 "$idle_pid" 2>/dev/null || break
		if ((held > 0 && held == last)); then
			((++still >= 10)) && break
		else
			still=0
		fi
		last=$held
		sleep 1
	done
	echo "rccserver+idle: ${held:-0} of $IDLE idle sessions held on a second connection" >&2
	# Below 99 % the figure would not be the one asked for.
	((${held:-0} * 100 >= IDLE * 99)) || {
		echo "idle sessions did not sign in; see $dir" >&2
		head -c 2000 "$dir/errors" >&2 2>/dev/null || true
		return 1
	}
}

# load NAME: start the server, run the SIPp load, print one result line:
#   name held late rss0_kb rss_held_kb requests seconds sipp_rc cpu_ms
load() {
	local name=$1 log=$work/$1.log dir=$work/$1 addr
	mkdir -p "$dir"
	local sf=$work/rcc_load.xml heapurl=""
	if [[ $name == rccbare ]]; then
		local dport
		dport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		heapurl=http://127.0.0.1:$dport/heap
		"$work/bin/rccbare" -addr 127.0.0.1:0 -answer "$REQ" -debug "127.0.0.1:$dport" 2>"$log" &
		server_pid=$!
		addr=$(wait_addr "$log" 'listening on 127\.0\.0\.1:[0-9]+')
	elif [[ $name == kamailio ]]; then
		local port
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		mkdir -p "$work/kam"
		kamailio -DD -E -f "$root/examples/sipp/load/kamailio-stateless.cfg" -w "$work/kam" -P "$work/kam/kamailio.pid" \
			-A "LISTEN=tcp:127.0.0.1:$port" >"$log" 2>&1 &
		server_pid=$!
		addr=127.0.0.1:$port
		for _ in $(seq 1 100); do
			(echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
			sleep 0.1
		done
		sf=$work/rcc_load_nocheck.xml
	else
		local config=$work/rccserver.yaml
		if [[ $name == rccserver-etcd ]]; then
			start_etcd
			config=$work/rccserver-etcd.yaml
			{
				cat "$work/rccserver.yaml"
				printf 'cluster:\n  etcd: ["%s"]\n  node_id: load\n' "$etcd_url"
			} >"$config"
		fi
		# No state file: a load run leaves nothing behind (state.file would
		# default to the working directory). The admin listener on a free
		# port too: never the default 9110, which another run may hold.
		[[ $name == rccserver-ka0 ]] && config=$work/rccserver-ka0.yaml
		admin_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		admin_addr=127.0.0.1:$admin_port
		"$work/bin/rccserver" -config "$config" -set state.file= -set "admin.listen=$admin_addr" 2>"$log" &
		server_pid=$!
		addr=$(wait_addr "$log" '"addr":"127\.0\.0\.1:[0-9]+","contact"')
		heapurl=admin:$admin_port
	fi
	sleep 1
	[[ $name == rccserver+idle ]] && hold_idle "$addr" "$dir"
	local rss0 t0 hold_ms heap0 heap1
	rss0=$(rss_kb "$server_pid")
	heap0=$(heap_bytes "$heapurl")
	# Every session signs in before t0 (with a margin); requests start at t0.
	hold_ms=$((N * 1000 / RATE + 3000 + ${HOLD:-0} * 1000))
	[[ $name == rccserver+idle ]] && hold_ms=$((hold_ms + 15000)) # room for the heap reading
	t0=$(($(now_ms) + hold_ms))
	# SIPp's own port: a free one, never the demo's 5060 (its lock, docs/demo.md).
	local sport
	sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	(
		cd "$dir"
		exec sipp -sf "$sf" -t t1 -aa -i 127.0.0.1 -p "$sport" \
			-m "$N" -l "$N" -r "$RATE" -rp 1000 -set t0 "$t0" -set k "$K" \
			-timeout "$((hold_ms / 1000 + 600))s" -timeout_error -nostdin \
			-trace_logs -log_file "$dir/log" -trace_err -error_file "$dir/errors" \
			-trace_stat -stf "$dir/stat.csv" -fd 1 \
			"$addr" >"$dir/sipp.out" 2>&1
	) &
	sipp_pid=$!
	# With HOLD and keep-alive on, the server's CPU over the second half of
	# the hold, when every session is signed in and only keep-alives flow,
	# is measured for rccserver and for rccserver-ka0 (keep-alive off): the
	# difference divided by the keep-alives sent is the CPU of one keep-alive.
	if [[ $name == rccserver* && ${HOLD:-0} -ge 10 && ${KEEPALIVE:-0} -gt 0 ]]; then
		local ka_from=$((t0 - HOLD * 500)) ka_to=$((t0 - 500)) ka0 ka1
		sleep "$(awk -v ms="$((ka_from - $(now_ms)))" 'BEGIN {print (ms > 0 ? ms : 0) / 1000}')"
		ka0=$(cpu_tree_ms "$server_pid")
		sleep "$(awk -v ms="$((ka_to - ka_from))" 'BEGIN {print ms / 1000}')"
		ka1=$(cpu_tree_ms "$server_pid")
		echo "$((ka1 - ka0)) $((ka_to - ka_from))" >"$work/$name.hold"
		echo "$name: $((ka1 - ka0)) ms of CPU in the second half of the hold ($(((ka_to - ka_from) / 1000)) s)" >&2
	fi
	# RSS with every session held, just before the requests start.
	local margin=300
	# With idle sessions held, reading the heap (a GC of all of them) takes seconds.
	[[ $name == rccserver+idle ]] && margin=12000
	local wait_ms=$((t0 - $(now_ms) - margin))
	((wait_ms > 0)) && sleep "$(awk -v ms="$wait_ms" 'BEGIN {print ms / 1000}')"
	local rss1 cpu0 cpu1
	rss1=$(rss_kb "$server_pid")
	heap1=$(heap_bytes "$heapurl")
	# The CPU from t0: the heap reading must not count.
	wait_ms=$((t0 - $(now_ms)))
	if ((wait_ms > 0)); then
		sleep "$(awk -v ms="$wait_ms" 'BEGIN {print ms / 1000}')"
	else
		echo "$name: reading the heap ran $((-wait_ms)) ms past t0: its CPU/request includes it" >&2
	fi
	cpu0=$(cpu_tree_ms "$server_pid")
	if [[ $name == rccserver* && -n ${PROFILE:-} ]]; then
		(sleep 1 && curl -s -o "$work/cpu.prof" "http://$admin_addr/debug/pprof/profile?seconds=$PROFILE" &&
			echo "CPU profile: $work/cpu.prof" >&2) &
	fi
	local rc=0
	wait "$sipp_pid" || rc=$?
	sipp_pid=""
	cpu1=$(cpu_tree_ms "$server_pid")
	if [[ -n $idle_pid ]]; then
		kill "$idle_pid" 2>/dev/null || true
		wait "$idle_pid" 2>/dev/null || true
		idle_pid=""
	fi
	kill -TERM "$server_pid"
	wait "$server_pid" || echo "$name exited $? after SIGTERM" >&2
	server_pid=""
	if [[ -n $etcd_pid ]]; then
		kill "$etcd_pid"
		wait "$etcd_pid" || true
		etcd_pid=""
		rm -rf "$etcd_dir"
		etcd_dir=""
	fi
	if ((rc != 0)); then
		echo "$name: sipp exited $rc; see $dir (KEEP=1 keeps it); errors:" >&2
		head -20 "$dir/errors" >&2 2>/dev/null || true
	fi
	# held: sessions that reached the hold before t0; late: after it.
	# Each held line carries t0 - (the session's sign-in and MonitorStart
	# done), so the sign-ins per second are (sessions - 1) / (last - first).
	# done lines carry the end of each session's K requests (s, µs).
	awk -v name="$name" -v t0="$t0" -v k="$K" -v rss0="$rss0" -v rss1="$rss1" -v rc="$rc" -v cpu=$((cpu1 - cpu0)) -v h0="$heap0" -v h1="$heap1" '
		$1 == "held" {
			if ($2 + 0 >= 1) held++; else late++
			s = t0 - $2; if (n++ == 0 || s < first) first = s; if (s > lastin) lastin = s
		}
		$1 == "done" { t = $2 * 1000 + $3 / 1000; if (t > last) last = t; done++ }
		END {
			secs = (last - t0) / 1000
			sps = (lastin > first) ? (n - 1) * 1000 / (lastin - first) : 0
			printf "%s %d %d %d %d %d %.3f %d %d %d %d %.0f\n", name, held, late, rss0, rss1, done * k, secs, rc, cpu, h0, h1, sps
		}' "$dir/log"
}

echo "N=$N sessions over one TCP connection, sign-in rate $RATE/s, K=$K $REQ requests per session" >&2
command -v kamailio >/dev/null || KAMAILIO=0
servers="rccbare"
((KAMAILIO)) && servers="$servers kamailio"
servers="$servers rccserver"
[[ ${CLUSTER:-0} == 1 ]] && servers="$servers rccserver-etcd"
servers=${SERVERS:-$servers}
if ((${IDLE:-0} > 0)) && [[ " $servers " == *" rccserver "* ]]; then
	servers="$servers rccserver+idle"
fi
# The keep-alive CPU figure needs the idle baseline in the same run.
if [[ ${HOLD:-0} -ge 10 && ${KEEPALIVE:-0} -gt 0 && " $servers " == *" rccserver "* && " $servers " != *" rccserver-ka0 "* ]]; then
	servers="rccserver-ka0 $servers"
fi
results=""
for s in $servers; do
	load "$s" >"$work/$s.result"
	echo "$s: $(cat "$work/$s.result")" >&2
	results+="$(cat "$work/$s.result")"$'\n'
done

if [[ -f $work/rccserver.hold && -f $work/rccserver-ka0.hold ]]; then
	read -r on w <"$work/rccserver.hold"
	read -r off _ <"$work/rccserver-ka0.hold"
	awk -v on="$on" -v off="$off" -v n="$N" -v w="$w" -v p="$KEEPALIVE" 'BEGIN {
		kas = n * (w / 1000) / p
		printf "keep-alive CPU: %.1f µs each = (%d ms with keep-alive - %d ms without) / ~%d keep-alives (%d sessions, %.1f s, period %d s); %.1f µs each without subtracting\n", (on - off) * 1000 / kas, on, off, kas, n, w / 1000, p, on * 1000 / kas
	}' >&2
fi

printf '%s' "$results" | awk -v n="$N" -v k="$K" '
	{
		name[NR] = $1; held[NR] = $2; late[NR] = $3
		per[NR] = ($5 - $4) * 1024 / n
		rps[NR] = ($7 > 0) ? $6 / $7 : 0
		reqs[NR] = $6; secs[NR] = $7; rc[NR] = $8
		us[NR] = ($6 > 0) ? $9 * 1000 / ($6 + n) : 0
		heap[NR] = ($11 - $10) / n
		sps[NR] = $12
		idx[$1] = NR
	}
	END {
		printf "\n%-14s %8s %6s %10s %10s %12s %14s %14s %12s %11s %6s\n", "server", "held", "late", "requests", "seconds", "requests/s", "RSS/session", "heap/session", "CPU/request", "sign-ins/s", "sipp"
		bad = 0
		for (i = 1; i <= NR; i++) {
			printf "%-14s %8d %6d %10d %10.2f %12.0f %12.0f B %12.0f B %9.1f µs %11.0f %6s\n", name[i], held[i], late[i], reqs[i], secs[i], rps[i], per[i], heap[i], us[i], sps[i], (rc[i] == 0 ? "ok" : "rc " rc[i])
			if (rc[i] != 0 || late[i] > 0) bad = 1
		}
		r = idx["rccserver"]
		e = idx["rccserver-etcd"]
		if (r && e) {
			printf "%-22s requests/s %.2f, sign-ins/s %.2f, CPU/request %.2f\n", "rccserver-etcd / rccserver", (rps[r] > 0 ? rps[e] / rps[r] : 0), (sps[r] > 0 ? sps[e] / sps[r] : 0), (us[r] > 0 ? us[e] / us[r] : 0)
		}
		for (j = 1; r && j <= NR; j++) {
			if (j == r || j == e || name[j] == "rccserver+idle" || name[j] == "rccserver-ka0") continue
			printf "%-22s %12.2f %14.2f %14.2f %12.2f\n", "rccserver / " name[j], (rps[j] > 0 ? rps[r] / rps[j] : 0), (per[j] > 0 ? per[r] / per[j] : 0), (heap[j] > 0 ? heap[r] / heap[j] : 0), (us[j] > 0 ? us[r] / us[j] : 0)
		}
		if (r && idx["rccserver+idle"]) {
			h = idx["rccserver+idle"]
			printf "%-22s %12.2f %14s %14s %12.2f\n", "held / none", (rps[r] > 0 ? rps[h] / rps[r] : 0), "-", "-", (us[r] > 0 ? us[h] / us[r] : 0)
		}
		printf "\nratios are requests/s, RSS/session and CPU/request (goals: requests/s >= 0.8 x rccbare, >= 0.5 x kamailio).\n"
		printf "RSS/session = (VmRSS with N held - VmRSS idle) / N (Kamailio keeps no dialog: its figure is not comparable).\n"
		printf "heap/session = (live heap after a GC with N held - idle) / N (Go servers only; hold >= 35 s with HOLD for the steady state).\n"
		printf "held / none: rccserver with IDLE idle sessions held on a second connection / without (goal >= 0.8); its RSS and heap include them.\n"
		printf "CPU/request = server CPU time (user + system) from t0 to the end / (requests + N BYEs); Kamailio: its main process and workers.\n"
		printf "sign-ins/s = (sessions - 1) / (last - first sign-in completed, INVITE to MonitorStart answered); at most RATE.\n"
		exit bad
	}'
