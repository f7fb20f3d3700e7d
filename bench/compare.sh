#!/usr/bin/env bash
# compare.sh runs every mqgate-bench scenario against mosquitto and against
# mqgate on loopback and prints one comparison table. Rows labelled sn-* have
# MQTT-SN clients and run against mqgate alone (mosquitto has no MQTT-SN
# gateway): mqgate then also serves MQTT-SN over UDP on the MQTT port number.
#
# Each broker is started fresh for each scenario, pinned to CPU 0; the bench
# runs pinned to CPU 1. Both brokers get queues large enough that the numbers
# compare routing cost, not drop policies, and neither persists anything
# (mosquitto's persistence false, mqgate's memory store). mqgate's default
# disk store writes nothing for these clean sessions, but Pebble's background
# work (its compaction scheduler ticks every 100 ms) added about 1 us per
# message at 5,000 msg/s.
#
#   bench/compare.sh                 # 10 s per scenario, about 9 minutes
#   DURATION=3 bench/compare.sh      # quick check
#
# Environment: DURATION (seconds, default 10), BROKER_CPU (0), BENCH_CPU (1),
# CONNS (idle connections in the conns scenario, default 10000),
# SCENARIOS (space-separated labels to run, default all), ROUNDS (runs of
# each latency and floor row, default 5: they print medians and ranges),
# KEEP=1 keeps the work directory with logs and JSON output.
# BASELINE=REV compares the working tree's mqgate with mqgate built at git
# revision REV instead of with mosquitto: the before/after figures of a
# change (BASELINE=HEAD~3 DURATION=5 SCENARIOS="fanin-100-q0 p2p-500-q1").
set -euo pipefail

DURATION=${DURATION:-10}
BROKER_CPU=${BROKER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
CONNS=${CONNS:-10000}
ROUNDS=${ROUNDS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mqgate-compare.XXXXXX")
BROKER_PID=""

cleanup() {
	if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
		kill "$BROKER_PID" 2>/dev/null || true
		wait "$BROKER_PID" 2>/dev/null || true
	fi
	if [[ "${KEEP:-}" == 1 ]]; then
		echo "work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "compare: $*" >&2; }

# Enough descriptors for the conns scenario in the broker and in the bench.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
if [[ "$nofile" != unlimited ]] && ((CONNS + 1000 > nofile)); then
	CONNS=$((nofile - 1000))
	log "ulimit -n is $nofile: conns scenario reduced to $CONNS connections"
fi

PIN_BROKER=() PIN_BENCH=()
if command -v taskset >/dev/null && (($(nproc) > 1)); then
	PIN_BROKER=(taskset -c "$BROKER_CPU")
	PIN_BENCH=(taskset -c "$BENCH_CPU")
else
	log "taskset or a second CPU missing: processes are not pinned"
fi

HAVE_MOSQUITTO=1
if [[ -n "${BASELINE:-}" ]]; then
	HAVE_MOSQUITTO=0
elif ! command -v mosquitto >/dev/null && [[ ! -x /usr/sbin/mosquitto ]]; then
	log "installing mosquitto"
	SUDO=()
	((EUID == 0)) || SUDO=(sudo)
	if ! { "${SUDO[@]}" apt-get install -y -q mosquitto >"$WORK/apt.log" 2>&1 ||
		{ "${SUDO[@]}" apt-get update -q >>"$WORK/apt.log" 2>&1 &&
			"${SUDO[@]}" apt-get install -y -q mosquitto >>"$WORK/apt.log" 2>&1; }; }; then
		log "mosquitto could not be installed (see below); comparing mqgate alone"
		tail -5 "$WORK/apt.log" >&2
		HAVE_MOSQUITTO=0
	fi
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

log "building mqgate and mqgate-bench"
(cd "$ROOT" && go build -o "$WORK/mqgate" ./cmd/mqgate && go build -o "$WORK/mqgate-bench" ./cmd/mqgate-bench)
if [[ -n "${BASELINE:-}" ]]; then
	log "building mqgate at $BASELINE"
	mkdir "$WORK/base"
	git -C "$ROOT" archive "$BASELINE" | tar -x -C "$WORK/base"
	(cd "$WORK/base" && go build -o "$WORK/mqgate-base" ./cmd/mqgate)
fi

# free_port finds a loopback port nobody listens on, over TCP and, where ss
# can tell, over UDP too (the MQTT-SN listener takes the same number).
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % 20000)) # below the usual ephemeral range
		if command -v ss >/dev/null && [[ -n "$(ss -Hlun "sport = :$p" 2>/dev/null)" ]]; then
			continue
		fi
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	log "no free port found"
	exit 1
}

wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# start_broker NAME PORT [mqttsn] starts one broker pinned to BROKER_CPU and
# sets BROKER_PID; with mqttsn, mqgate also listens for MQTT-SN on UDP PORT.
start_broker() {
	local name=$1 port=$2 sn=${3:-}
	case $name in
	mosquitto)
		cat >"$WORK/mosquitto.conf" <<-CONF
			listener $port 127.0.0.1
			allow_anonymous true
			max_queued_messages 1000000
			max_inflight_messages 32
			set_tcp_nodelay true
			persistence false
			log_dest stderr
			log_type error
		CONF
		"${PIN_BROKER[@]}" "$MOSQUITTO" -c "$WORK/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
		;;
	echo)
		"${PIN_BROKER[@]}" "$WORK/mqgate-bench" echo -h "127.0.0.1:$port" >>"$WORK/echo.log" 2>&1 &
		;;
	mqgate | baseline)
		cat >"$WORK/mqgate.yaml" <<-CONF
			log:
			  level: error
			mqtt:
			  listeners:
			    - name: tcp
			      type: tcp
			      address: 127.0.0.1:$port
			      max_connections: 1000000
			sessions:
			  max_inflight: 32
			  max_queued_messages: 1000000
			  max_queued_bytes: 1GiB
			sys:
			  interval: 0s
			storage:
			  type: memory
		CONF
		if [[ $sn == mqttsn ]]; then
			cat >>"$WORK/mqgate.yaml" <<-CONF
				mqttsn:
				  enabled: true
				  advertise_interval: 0s
				  listeners:
				    - name: udp
				      type: udp
				      address: 127.0.0.1:$port
			CONF
		fi
		local bin=$WORK/mqgate
		[[ $name == baseline ]] && bin=$WORK/mqgate-base
		"${PIN_BROKER[@]}" "$bin" run -c "$WORK/mqgate.yaml" >>"$WORK/$name.log" 2>&1 &
		;;
	esac
	BROKER_PID=$!
	if ! wait_port "$port"; then
		log "$name did not start; its log:"
		tail -20 "$WORK/$name.log" >&2
		exit 1
	fi
}

stop_broker() {
	kill "$BROKER_PID" 2>/dev/null || true
	wait "$BROKER_PID" 2>/dev/null || true
	BROKER_PID=""
}

# label|bench arguments
RUNS=(
	"fanin-100-q0|scenario fanin -c 100 -q 0 -s 64"
	"fanin-100-q1|scenario fanin -c 100 -q 1 -s 64"
	"fanout-100|scenario fanout -c 100 -s 64"
	"fanout-1000|scenario fanout -c 1000 -s 64"
	"p2p-500-q0|scenario p2p -c 500 -q 0 -s 64"
	"p2p-500-q1|scenario p2p -c 500 -q 1 -s 64"
	"shared-100x10-q1|scenario shared -c 100 -subs 10 -q 1 -s 64"
	"conns-$CONNS|scenario conns -c $CONNS"
	"latency-5k-q0|scenario latency -R 5000 -q 0 -s 64"
	"latency-5k-q1|scenario latency -R 5000 -q 1 -s 64"
	"sn-fanin-100-q0|scenario fanin -c 100 -q 0 -s 64 -pub-proto mqttsn -sub-proto mqtt"
	"floor-5k|scenario floor -R 5000 -s 64"
)

# field JSON KEY prints a numeric field of a flat JSON line, or "-".
field() {
	local v
	v=$(sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" <<<"$1")
	echo "${v:--}"
}

BROKERS=(mqgate)
OTHER=mosquitto SHORT=mosq
((HAVE_MOSQUITTO)) && BROKERS=(mosquitto mqgate)
if [[ -n "${BASELINE:-}" ]]; then
	BROKERS=(baseline mqgate)
	OTHER=baseline SHORT=base
fi

# is_latency LABEL: rows run ROUNDS times and reported as medians. At a
# fixed moderate rate a p99 measures the machine's scheduling noise as much
# as the broker, so one run says little; rounds alternate between the
# brokers, so noise that comes and goes reaches both.
is_latency() { [[ $1 == latency-* || $1 == floor-* ]]; }

# run_one LABEL ARGS BROKER ROUND runs one scenario against one broker and
# keeps its summary line in RESULT[LABEL.BROKER.ROUND].
declare -A RESULT
run_one() {
	local label=$1 args=$2 broker=$3 round=$4 sn="" server=$3 port
	if [[ $label == sn-* ]]; then
		[[ $broker != mosquitto ]] || return 0
		sn=mqttsn
	fi
	if [[ $label == floor-* ]]; then
		[[ $broker == mqgate ]] || return 0
		server=echo
	fi
	port=$(free_port)
	start_broker "$server" "$port" $sn
	log "$label against $server (${DURATION}s${round:+, round $round of $ROUNDS})"
	local out="$WORK/$label.$broker${round:+.$round}.json"
	# shellcheck disable=SC2086 # args is a word list
	if ! "${PIN_BENCH[@]}" "$WORK/mqgate-bench" $args -h "127.0.0.1:$port" -sn-host "127.0.0.1:$port" -d "${DURATION}s" \
		-pid "$BROKER_PID" -json -quiet -prefix "cmp-" >"$out" 2>>"$WORK/bench.log"; then
		log "bench failed; see below"
		tail -5 "$WORK/bench.log" >&2
	fi
	RESULT[$label.$broker.${round:-1}]=$(grep '"type":"summary"' "$out" || true)
	stop_broker
}

selected() { [[ -z "${SCENARIOS:-}" || " $SCENARIOS " == *" $1 "* ]]; }

for run in "${RUNS[@]}"; do
	label=${run%%|*}
	selected "$label" && ! is_latency "$label" || continue
	for broker in "${BROKERS[@]}"; do
		run_one "$label" "${run#*|}" "$broker" ""
	done
done
for round in $(seq "$ROUNDS"); do
	for run in "${RUNS[@]}"; do
		label=${run%%|*}
		selected "$label" && is_latency "$label" || continue
		for broker in "${BROKERS[@]}"; do
			run_one "$label" "${run#*|}" "$broker" "$round"
		done
	done
done

# stat LABEL BROKER KEY prints KEY's median over the rounds of LABEL
# (one round for most rows), or "-"; with "range" as a fourth argument,
# "min-max" instead, each printed with the printf format in the fifth.
stat() {
	local vals=() r v n
	for r in $(seq "$ROUNDS"); do
		v=$(field "${RESULT[$1.$2.$r]:-}" "$3")
		[[ $v == - ]] || vals+=("$v")
	done
	n=${#vals[@]}
	if ((n == 0)); then
		echo -
		return
	fi
	printf '%s\n' "${vals[@]}" | sort -g | awk -v n="$n" -v want="${4:-median}" -v f="${5:-%s}" '
		{ v[NR] = $1 }
		END {
			if (want == "range") { printf f "-" f "\n", v[1], v[n]; exit }
			if (n % 2) print v[(n + 1) / 2]; else print (v[n / 2] + v[n / 2 + 1]) / 2
		}'
}

# One table. Rate is delivered msg/s, or connections/s for conns.
printf '\n%-18s %12s %12s %7s %10s %10s %10s %10s %10s %10s %12s\n' \
	scenario "$SHORT rate" "mqgate rate" ratio "$SHORT s/M" "mqgate s/M" "$SHORT rss/c" "mqg rss/c" "$SHORT p99" "mqg p99" "lost o/q"
for run in "${RUNS[@]}"; do
	label=${run%%|*}
	[[ -n "${RESULT[$label.mqgate.1]+x}" ]] || continue
	key=recv_rate cpukey=broker_cpu_s_per_million
	[[ $label == conns-* ]] && key=conn_rate cpukey=broker_cpu_us_per_conn
	awk -v l="$label" \
		-v mr="$(stat "$label" "$OTHER" $key)" -v qr="$(stat "$label" mqgate $key)" \
		-v mc="$(stat "$label" "$OTHER" $cpukey)" -v qc="$(stat "$label" mqgate $cpukey)" \
		-v mm="$(stat "$label" "$OTHER" rss_per_conn_bytes)" -v qm="$(stat "$label" mqgate rss_per_conn_bytes)" \
		-v mp="$(stat "$label" "$OTHER" p99_us)" -v qp="$(stat "$label" mqgate p99_us)" \
		-v ml="$(stat "$label" "$OTHER" lost)" -v ql="$(stat "$label" mqgate lost)" -v conns="$([[ $label == conns-* ]] && echo 1 || echo 0)" '
		function rate(v) { if (v == "-") return "-"; if (v >= 1e6) return sprintf("%.2fM", v/1e6); if (v >= 1e4) return sprintf("%.1fk", v/1e3); return sprintf("%.0f", v) }
		function cpu(v) { return (v == "-") ? "-" : sprintf("%.2f", v) }
		function rss(v) { if (v == "-" || !conns) return "-"; return (v >= 1024) ? sprintf("%.1fKiB", v/1024) : sprintf("%.0fB", v) }
		function lat(v) { if (v == "-" || v == 0) return "-"; return (v >= 1000) ? sprintf("%.2fms", v/1000) : sprintf("%.0fus", v) }
		BEGIN {
			ratio = (mr != "-" && qr != "-" && mr > 0) ? sprintf("%.2f", qr/mr) : "-"
			printf "%-18s %12s %12s %7s %10s %10s %10s %10s %10s %10s %12s\n", l, rate(mr), rate(qr), ratio,
				cpu(mc), cpu(qc), rss(mm), rss(qm), lat(mp), lat(qp), ml "/" ql
		}'
done
if ((ROUNDS > 1)); then
	echo
	echo "latency and floor rows: medians of $ROUNDS alternating rounds; over the rounds, per broker:"
	for run in "${RUNS[@]}"; do
		label=${run%%|*}
		is_latency "$label" && [[ -n "${RESULT[$label.mqgate.1]+x}" ]] || continue
		for broker in "${BROKERS[@]}"; do
			[[ -n "${RESULT[$label.$broker.1]+x}" ]] || continue
			printf '  %-18s %-10s p99 %-12s us  median p50 %5.0f us  CPU %s s/M\n' "$label" \
				"$([[ $label == floor-* ]] && echo relay || echo "$broker")" \
				"$(stat "$label" "$broker" p99_us range %.0f)" "$(stat "$label" "$broker" p50_us)" \
				"$(stat "$label" "$broker" broker_cpu_s_per_million range %.1f)"
		done
	done
fi
echo
echo "rate: delivered msg/s (conns: connections/s); ratio: mqgate/$OTHER; s/M: broker CPU seconds per million delivered"
echo "(conns: per million connections, from the first connect to the last disconnect);"
echo "rss/c: broker RSS growth per idle connection; p99: end-to-end latency; lost: expected minus delivered."
echo "sn-*: MQTT-SN publishers over UDP to MQTT subscribers, mqgate only (mosquitto has no MQTT-SN gateway)."
echo "floor: the latency scenario through a relay that only copies bytes (mqgate column), no broker: loopback and scheduling alone."
echo "${DURATION}s per run, brokers on CPU $BROKER_CPU, bench on CPU $BENCH_CPU."
