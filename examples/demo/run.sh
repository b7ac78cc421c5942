#!/usr/bin/env bash
# The rccserver demo (docs/demo.md), unattended: the server on its embedded
# default, two baresip desk phones (1010 alice, 1020 bob) and a SIPp Lync
# client that signs in as alice and clicks to dial bob. The phones really
# connect; after a few seconds the client hangs up and signs out. Part 2:
# bob signs in, alice dials him at her phone, and bob's client answers the
# incoming call (AnswerCall) on a phone that supports the talk event, played
# by SIPp. Then everything stops. Run it with `go tool task demo`.
#
# Needs Go, baresip and sipp (Debian: baresip, sip-tester), and the fixed
# ports of the embedded default free: TCP 11001, UDP+TCP 5060, TCP 9110; the
# phones use 127.0.0.1:5062/5064 (SIP), 4444/4445 (ctrl_tcp), RTP 10000-10199.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rccserver-demo.XXXXXX")
KEEP=${KEEP:-} # KEEP=1 keeps $WORK (logs, SIPp traces) after the run
PIDS=()
declare -A PHONE=() FD=() # extension -> baresip pid, ctrl_tcp file descriptor

say() { printf '%s  %s\n' "$(date +%T)" "$*"; }
die() {
	say "FAILED: $*" >&2
	for f in "$WORK"/rccserver.log "$WORK"/sipp/*errors.log "$WORK"/bob/*errors.log "$WORK"/phone/*errors.log "$WORK"/phone/steps.log "$WORK"/1010/baresip.log "$WORK"/1020/baresip.log; do
		[ -s "$f" ] || continue
		printf '\n--- %s (tail)\n' "${f#"$WORK"/}" >&2
		tail -n 25 "$f" >&2
	done
	KEEP=1
	exit 1
}

cleanup() {
	local pid ext
	# Phones first, politely: they unregister and exit.
	for ext in "${!PHONE[@]}"; do command_phone "$ext" quit 2>/dev/null || true; done
	for pid in "${PHONE[@]}"; do
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	done
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[i]}
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ -n "$KEEP" ]; then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'die "interrupted"' INT TERM

for tool in go baresip sipp; do
	command -v "$tool" >/dev/null || die "$tool is not installed (go tool task install-test-deps)"
done

# One user of the fixed ports at a time (the README test takes this lock too).
exec 9>"${TMPDIR:-/tmp}/rccserver-fixed-ports.lock"
flock -w 60 9 || die "another demo or test run holds the fixed ports"

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds.
wait_for() {
	local secs=$1 what=$2 end
	shift 2
	end=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || die "no $what after ${secs} s"
		sleep 0.1
	done
}
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# --- The server ---------------------------------------------------------
for port in 11001 5060 9110; do
	listening 127.0.0.1 "$port" && die "something already listens on TCP port $port (a running rccserver?)"
done
say "building rccserver"
go build -o "$WORK/rccserver" ./rccserver/cmd/rccserver || die "go build failed"
"$WORK/rccserver" >"$WORK/rccserver.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
server_up() { kill -0 "$SERVER" || die "rccserver exited"; listening 127.0.0.1 11001; }
wait_for 15 "rccserver on 127.0.0.1:11001" server_up
say "rccserver runs on its embedded default: RCC on TCP 11001, phones on UDP/TCP 5060"

# --- The phones ---------------------------------------------------------
# ctrl_tcp allows one connection: it carries our commands and the phone's
# events, which a background cat copies into $WORK/<ext>/events.
declare -A CTRL=([1010]=4444 [1020]=4445)
start_phone() {
	local ext=$1 fd
	cp -r "examples/baresip/$ext" "$WORK/$ext"
	baresip -f "$WORK/$ext" >"$WORK/$ext/baresip.log" 2>&1 </dev/null &
	PIDS+=("$!")
	PHONE[$ext]=$!
	wait_for 5 "ctrl_tcp of phone $ext" listening 127.0.0.1 "${CTRL[$ext]}"
	exec {fd}<>"/dev/tcp/127.0.0.1/${CTRL[$ext]}"
	FD[$ext]=$fd
	cat <&"$fd" >"$WORK/$ext/events" &
	PIDS+=("$!")
}
# command EXT COMMAND [PARAMS]: one ctrl_tcp command in a netstring.
command_phone() {
	local json
	json=$(printf '{"command":"%s","params":"%s","token":"%s"}' "$2" "${3:-}" "$2")
	printf '%d:%s,' "${#json}" "$json" >&"${FD[$1]}"
}
# has EXT TEXT: the phone reported TEXT (an event type, a reply).
has() { grep -q -- "$2" "$WORK/$1/events"; }
registered() { command_phone "$1" reginfo; sleep 0.2; grep -q '"token":"reginfo"' "$WORK/$1/events" && grep -q 'OK' "$WORK/$1/events"; }

for ext in 1010 1020; do
	start_phone "$ext"
	wait_for 10 "registration of phone $ext" registered "$ext"
	say "phone $ext registered (sip:$ext@127.0.0.1:5060, password demo-$ext)"
done

# --- The Lync client ----------------------------------------------------
say "SIPp signs in as alice (tel:+13175551010) and clicks to dial bob (tel:+13175551020)"
mkdir -p "$WORK/sipp"
(cd "$WORK/sipp" && exec sipp -sf "$ROOT/examples/demo/click_to_dial.xml" -t t1 -aa -i 127.0.0.1 \
	-m 1 -timeout 60s -timeout_error -nostdin \
	-trace_err -error_file "$WORK/sipp/errors.log" \
	-trace_logs -log_file "$WORK/sipp/steps.log" \
	-trace_msg -message_file "$WORK/sipp/messages.log" \
	127.0.0.1:11001 >"$WORK/sipp/screen.log" 2>&1) &
SIPP=$!
PIDS+=("$SIPP")

# Bob's phone rings; bob picks up after a second.
ringing() { has 1020 CALL_INCOMING || { kill -0 "$SIPP" || die "SIPp ended before bob's phone rang"; return 1; }; }
wait_for 15 "ringing at phone 1020" ringing
say "phone 1020 rings (alice's phone 1010 went off-hook by itself)"
sleep 1
command_phone 1020 accept
say "phone 1020 answers"

established() { has 1010 CALL_ESTABLISHED && has 1020 CALL_ESTABLISHED; }
wait_for 10 "established call on both phones" established
say "call established on both phones: 1010 <-> 1020 (a 440 Hz tone each way)"

sipp_rc=0
wait "$SIPP" || sipp_rc=$?
[ "$sipp_rc" -eq 0 ] || die "SIPp scenario failed (exit $sipp_rc)"

closed() { has 1010 CALL_CLOSED && has 1020 CALL_CLOSED; }
wait_for 10 "hang-up on both phones" closed
say "both phones hung up"

echo
echo "Transcript of the Lync client (SIPp; milliseconds since it started):"
sed -e 's/^/  /' "$WORK/sipp/steps.log"
echo

# --- Part 2: an incoming call answered from the client --------------------
# Debian's baresip cannot be answered remotely (docs/station.md "Answer
# methods and phones"), so bob's desk phone is now played by SIPp as a phone
# that answers on the talk event (answer method talkEvent, the default).
say "part 2: bob's baresip phone leaves; a phone that answers on the talk event (SIPp) registers as 1020"
command_phone 1020 quit
for _ in $(seq 50); do kill -0 "${PHONE[1020]}" 2>/dev/null || break; sleep 0.1; done
unset 'PHONE[1020]'
mkdir -p "$WORK/phone" "$WORK/bob"
(cd "$WORK/phone" && exec sipp -sf "$ROOT/examples/demo/talk_phone_register.xml" -oocsf "$ROOT/examples/demo/talk_phone.xml" \
	-i 127.0.0.1 -p 5064 -m 1 -timeout 60s -nostdin -trace_err -error_file "$WORK/phone/errors.log" \
	-trace_logs -log_file "$WORK/phone/steps.log" 127.0.0.1:5060 >"$WORK/phone/screen.log" 2>&1) &
TALKPHONE=$!
PIDS+=("$TALKPHONE")
phone_logged() { grep -q -- "$1" "$WORK/phone/steps.log" 2>/dev/null || { kill -0 "$TALKPHONE" || die "the talk-event phone (SIPp) ended"; return 1; }; }
wait_for 10 "registration of the talk-event phone" phone_logged "registered"
say "phone 1020 (talk event) registered"

say "SIPp signs in as bob (tel:+13175551020) and waits for a call"
(cd "$WORK/bob" && exec sipp -sf "$ROOT/examples/demo/answer_incoming.xml" -t t1 -i 127.0.0.1 \
	-m 1 -timeout 60s -timeout_error -nostdin \
	-trace_err -error_file "$WORK/bob/errors.log" \
	-trace_logs -log_file "$WORK/bob/steps.log" \
	-trace_msg -message_file "$WORK/bob/messages.log" \
	127.0.0.1:11001 >"$WORK/bob/screen.log" 2>&1) &
BOB=$!
PIDS+=("$BOB")
bob_logged() { grep -q -- "$1" "$WORK/bob/steps.log" 2>/dev/null || { kill -0 "$BOB" || die "bob's client (SIPp) ended early"; return 1; }; }
wait_for 10 "bob's monitor" bob_logged "MonitorStart"

say "alice dials 1020 at her phone"
command_phone 1010 dial 1020
wait_for 10 "the toast at bob's client" bob_logged "DeliveredEvent"
say "bob's client shows the call and clicks Answer (AnswerCall)"
wait_for 10 "the phone going off-hook" phone_logged "off-hook: call established"
alice_talks() { [ "$(grep -o CALL_ESTABLISHED "$WORK/1010/events" | wc -l)" -ge 2 ]; }
wait_for 10 "the second call established at alice's phone" alice_talks
say "phone 1020 went off-hook on the server's NOTIFY Event: talk; call established on both phones"
bob_rc=0
wait "$BOB" || bob_rc=$?
[ "$bob_rc" -eq 0 ] || die "bob's client scenario failed (exit $bob_rc)"
command_phone 1010 hangup
wait_for 10 "hang-up at the talk-event phone" phone_logged "hung up"
say "alice hung up; bob's phone hung up"

echo
echo "Transcript of bob's Lync client (SIPp; milliseconds since it started):"
sed -e 's/^/  /' "$WORK/bob/steps.log"
echo
say "demo complete; stopping everything"
