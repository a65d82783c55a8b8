#!/usr/bin/env bash
# bench/run.sh: the paywall's throughput against bare Caddy, side by side.
#
# Builds the Caddy binary of this repository, starts redis-server, an
# upstream and two front ends from the same binary, each on a free loopback
# port:
#   bare     reverse_proxy to the upstream
#   gateway  paywall in front of the same reverse_proxy
# and runs interleaved wrk rounds of four request kinds against both,
# then the webhook rate (bench/webhookload) and the start-up time with
# 1,000,000 entitlements in Redis against none. It prints the figures of
# issue 5's table and exits non-zero when a server answered something
# else than it should (so a broken gateway cannot look fast).
#
# Bench-only shortcut: the gateway takes the user from the X-User request
# header (user {http.request.header.X-User}) with no authentication in
# front. A real site must set that header from its own auth (forward_auth
# with copy_headers, which also deletes a client-sent copy): never
# deploy this config. basic_auth is not used because bcrypt would dominate
# every request and hide the paywall's own cost.
#
# Stripe is never contacted on the paths measured: stripe_api_url points
# at a closed port.
#
# Settings (environment):
#   ROUNDS=7           interleaved wrk rounds (the ratio is their median)
#   DURATION=3s        length of each wrk run
#   THREADS=2          wrk threads
#   CONNECTIONS=32     wrk connections
#   WEBHOOK_EVENTS=20000  WEBHOOK_CONCURRENCY=16
#   STARTUP_USERS=1000000 STARTUP_RUNS=3
#   PARTS="wrk webhook startup"   which parts to run
#   CASES="paid ungated unpaid_machine anon_browser"   which wrk cases
#   CONSOLE=1          the gateway runs with `console { admins owner }` (its
#                      counters on the hot path); run once with and once
#                      without to compare the two ratios
#   PROFILE=1          also take a CPU profile of the gateway Caddy (through
#                      its admin endpoint, on only then) during a paid-path
#                      wrk run (PROFILE_SECONDS=20) after the rounds, and
#                      print the paywall's own CPU per request and its top
#
# Nothing is left behind: every process started here is stopped by its
# PID and the temporary directory is removed, also on failure or ^C.

set -euo pipefail

ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-3s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WEBHOOK_EVENTS=${WEBHOOK_EVENTS:-20000}
WEBHOOK_CONCURRENCY=${WEBHOOK_CONCURRENCY:-16}
STARTUP_USERS=${STARTUP_USERS:-1000000}
STARTUP_RUNS=${STARTUP_RUNS:-3}
PARTS=${PARTS:-wrk webhook startup}
PROFILE=${PROFILE:-0}
CONSOLE=${CONSOLE:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/paywall-bench.XXXXXX")
PIDS=()
FAILED=

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "run.sh: $*" >&2
	exit 1
}

# Caddy keeps its data and config under XDG dirs: keep them in $TMP.
export XDG_DATA_HOME=$TMP/xdg-data XDG_CONFIG_HOME=$TMP/xdg-config

for tool in go wrk redis-server redis-cli curl; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

# free_port prints a loopback port nothing listens on and that this
# script has not handed out yet.
USED_PORTS=" "
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		[[ $USED_PORTS == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS+="$p "
			echo "$p"
			return
		fi
	done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_status URL STATUS SECONDS [curl args]: poll until URL answers STATUS.
wait_status() {
	local url=$1 want=$2 secs=$3
	shift 3
	local deadline=$(($(now_ms) + secs * 1000))
	while (($(now_ms) < deadline)); do
		if [[ $(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null) == "$want" ]]; then
			return 0
		fi
		sleep 0.005
	done
	return 1
}

# start NAME CMD...: run a server in the background, its output in $TMP.
LAST_PID=
start() {
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# stop PID: stop one server this script started.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() pid
	for pid in "${PIDS[@]}"; do
		[[ $pid == "$1" ]] || keep+=("$pid")
	done
	PIDS=("${keep[@]}")
}

show_log() { echo "--- $1.log (last lines) ---" >&2; tail -n 20 "$TMP/$1.log" >&2 || true; }

echo "load average before (building next): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {exit !(l > 1.5)}' &&
	echo "WARNING: the machine is busy (load average above 1.5): the ratios will be noise"
echo "== building ($ROOT)"
(cd "$ROOT" && go build -o "$TMP/caddy" ./cmd/caddy && go build -o "$TMP/webhookload" ./bench/webhookload)
CADDY=$TMP/caddy

REDIS_PORT=$(free_port)
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
	--dir "$TMP" --daemonize no --logfile ""
for _ in $(seq 200); do
	[[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && break
	sleep 0.05
done
[[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] || { show_log redis; die "redis-server did not start"; }
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

UP_PORT=$(free_port)
BARE_PORT=$(free_port)
GW_PORT=$(free_port)
STRIPE_CLOSED_PORT=$(free_port) # nothing listens here
WEBHOOK_SECRET=whsec_bench_0123456789
PREFIX='{paywall}:'

global_options='{
	admin off
	auto_https off
	persist_config off
}'

cat >"$TMP/upstream.caddyfile" <<EOF
$global_options
http://127.0.0.1:$UP_PORT {
	respond "ok" 200
}
EOF

cat >"$TMP/bare.caddyfile" <<EOF
$global_options
http://127.0.0.1:$BARE_PORT {
	reverse_proxy 127.0.0.1:$UP_PORT
}
EOF

# gateway_config PORT REDIS_DB [ADMIN_PORT]: the paywall in front of the
# same proxy.
gateway_config() {
	local options=$global_options
	[[ -n ${3:-} ]] && options=${options/admin off/admin 127.0.0.1:$3}
	cat <<EOF
$options
http://127.0.0.1:$1 {
	paywall {
		stripe_secret_key     sk_test_bench
		stripe_webhook_secret $WEBHOOK_SECRET
		# Closed port: nothing measured here may call Stripe.
		stripe_api_url        http://127.0.0.1:$STRIPE_CLOSED_PORT
		redis                 redis://127.0.0.1:$REDIS_PORT/$2
		session_secret        bench-session-secret-0123456789abcdef
		# BENCH-ONLY SHORTCUT: the user is whatever the client sends in
		# X-User; nothing authenticates it. Never deploy this.
		user                  {http.request.header.X-User}
		login_url             /login?next={http.paywall.return_to}
		product pro {
			name  "Pro"
			price price_bench
			paths /premium/*
		}
$([[ $CONSOLE == 1 ]] && printf '\t\tconsole {\n\t\t\tadmins owner\n\t\t}' || true)
	}
	reverse_proxy 127.0.0.1:$UP_PORT
}
EOF
}
ADMIN_PORT=
[[ $PROFILE == 1 ]] && ADMIN_PORT=$(free_port)
gateway_config "$GW_PORT" 0 "$ADMIN_PORT" >"$TMP/gateway.caddyfile"

start upstream "$CADDY" run --config "$TMP/upstream.caddyfile" --adapter caddyfile
start bare "$CADDY" run --config "$TMP/bare.caddyfile" --adapter caddyfile
BARE_PID=$LAST_PID
start gateway "$CADDY" run --config "$TMP/gateway.caddyfile" --adapter caddyfile
GW_PID=$LAST_PID
wait_status "http://127.0.0.1:$UP_PORT/" 200 30 || { show_log upstream; die "upstream did not start"; }
wait_status "http://127.0.0.1:$BARE_PORT/" 200 30 || { show_log bare; die "bare front end did not start"; }
wait_status "http://127.0.0.1:$GW_PORT/paywall/healthz" 200 30 || { show_log gateway; die "gateway did not start"; }

"$CADDY" paywall grant --config "$TMP/gateway.caddyfile" --adapter caddyfile \
	--user paid-user --product pro >/dev/null 2>"$TMP/grant.log" || { show_log grant; die "caddy paywall grant failed"; }

# The cases: name, path, wrk/curl headers, expected status from bare and
# from the gateway, and the target ratio of issue 5.
read -r -a CASES <<<"${CASES:-paid ungated unpaid_machine anon_browser}"
declare -A LABEL PATH_OF HDRS WANT_BARE WANT_GW TARGET
LABEL[paid]="paid user, gated path"
PATH_OF[paid]=/premium/article
HDRS[paid]="X-User: paid-user|Accept: text/html"
WANT_BARE[paid]=200 WANT_GW[paid]=200 TARGET[paid]=0.95

LABEL[ungated]="ungated path"
PATH_OF[ungated]=/free/article
HDRS[ungated]="X-User: paid-user|Accept: text/html"
WANT_BARE[ungated]=200 WANT_GW[ungated]=200 TARGET[ungated]=0.98

LABEL[unpaid_machine]="unpaid machine (402)"
PATH_OF[unpaid_machine]=/premium/article
HDRS[unpaid_machine]="X-User: unpaid-user|Accept: application/json"
WANT_BARE[unpaid_machine]=200 WANT_GW[unpaid_machine]=402 TARGET[unpaid_machine]=1.0

LABEL[anon_browser]="anonymous browser (302)"
PATH_OF[anon_browser]=/premium/article
HDRS[anon_browser]="Accept: text/html"
WANT_BARE[anon_browser]=200 WANT_GW[anon_browser]=302 TARGET[anon_browser]=1.0

for c in "${CASES[@]}"; do
	[[ -n ${LABEL[$c]:-} ]] || die "unknown case $c in CASES (paid ungated unpaid_machine anon_browser)"
done

# header_args CASE PREFIX: the case's headers as repeated PREFIX "H: v" args.
header_args() {
	local IFS='|' h
	for h in ${HDRS[$1]}; do
		printf '%s\0%s\0' "$2" "$h"
	done
}

port_of() { if [[ $1 == bare ]]; then echo "$BARE_PORT"; else echo "$GW_PORT"; fi; }
want_of() { if [[ $1 == bare ]]; then echo "${WANT_BARE[$2]}"; else echo "${WANT_GW[$2]}"; fi; }

# check_curl SERVER CASE: one request, status and what proves it right.
check_curl() {
	local server=$1 c=$2 want out status
	want=$(want_of "$server" "$c")
	mapfile -d '' -t hargs < <(header_args "$c" -H)
	out=$(curl -s -D - -o "$TMP/body" "${hargs[@]}" "http://127.0.0.1:$(port_of "$server")${PATH_OF[$c]}")
	status=$(awk 'NR==1{print $2}' <<<"$out")
	[[ $status == "$want" ]] || die "$server, ${LABEL[$c]}: status $status, want $want"
	case $want in
	200) [[ $(cat "$TMP/body") == ok ]] || die "$server, ${LABEL[$c]}: body is not the upstream's" ;;
	302) grep -qi '^Location: /login?next=%2Fpremium%2Farticle' <<<"$out" || die "$server, ${LABEL[$c]}: no login redirect" ;;
	402) grep -qi '^Content-Type: application/problem+json' <<<"$out" || die "$server, ${LABEL[$c]}: not problem+json" ;;
	esac
	if [[ $server == gateway && $c == paid ]]; then
		grep -qi '^Cache-Control: private' <<<"$out" || die "gateway, paid: no Cache-Control: private"
	fi
}

# A wrk script that counts the statuses of every response (used for the
# checking runs only: the response hook costs client CPU, which would
# flatter the ratios in the timed runs).
cat >"$TMP/statuses.lua" <<'EOF'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      io.write(string.format("status %d %d\n", status, n))
    end
  end
end
EOF

# check_wrk SERVER CASE: a 2s wrk run that must see only the expected
# status (and some of it: 2s outlast a stall of a second or so).
check_wrk() {
	local server=$1 c=$2 want out bad
	want=$(want_of "$server" "$c")
	mapfile -d '' -t hargs < <(header_args "$c" -H)
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$TMP/statuses.lua" "${hargs[@]}" \
		"http://127.0.0.1:$(port_of "$server")${PATH_OF[$c]}")
	bad=$(awk -v want="$want" '$1=="status" && $2!=want {n+=$3} END {print n+0}' <<<"$out")
	good=$(awk -v want="$want" '$1=="status" && $2==want {n+=$3} END {print n+0}' <<<"$out")
	((bad == 0 && good > 0)) || die "$server, ${LABEL[$c]}: under load got $(awk '$1=="status"{printf "%s x%s ", $2, $3}' <<<"$out")(want only $want)"
}

# cpu_ticks PID: user+system CPU time the process has used, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)

# timed SERVER CASE: one timed wrk run; prints requests/s and the front
# end's CPU time per request (microseconds, from /proc: unlike req/s it
# hardly moves when something else loads the machine). Fails on socket
# errors or on a count of non-2xx/3xx responses that does not fit.
timed() {
	local server=$1 c=$2 want out rps total non pid cpu0 cpu1
	want=$(want_of "$server" "$c")
	mapfile -d '' -t hargs < <(header_args "$c" -H)
	pid=$BARE_PID
	[[ $server == gateway ]] && pid=$GW_PID
	cpu0=$(cpu_ticks "$pid")
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "${hargs[@]}" \
		"http://127.0.0.1:$(port_of "$server")${PATH_OF[$c]}")
	cpu1=$(cpu_ticks "$pid")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	total=$(awk '/ requests in / {print $1}' <<<"$out")
	non=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
	non=${non:-0}
	grep -q 'Socket errors' <<<"$out" && die "$server, ${LABEL[$c]}: wrk socket errors: $(grep 'Socket errors' <<<"$out")"
	if ((want >= 400)); then
		((non == total)) || die "$server, ${LABEL[$c]}: $non of $total responses were non-2xx/3xx, want all ($want)"
	else
		((non == 0)) || die "$server, ${LABEL[$c]}: $non non-2xx/3xx responses, want none"
	fi
	[[ -n $rps ]] || die "$server, ${LABEL[$c]}: no Requests/sec in wrk output"
	echo "$rps $(awk -v t=$((cpu1 - cpu0)) -v hz="$TICKS" -v n="$total" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}') $(awk '$1 == "Latency" {print $4; exit}' <<<"$out")"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

if [[ " $PARTS " == *" wrk "* ]]; then
	echo "== checking every case (curl, then a 2s wrk run counting statuses; also a warm-up)"
	for c in "${CASES[@]}"; do
		for server in bare gateway; do
			check_curl "$server" "$c"
			check_wrk "$server" "$c"
		done
	done

	echo "== $ROUNDS interleaved rounds: wrk -t$THREADS -c$CONNECTIONS -d$DURATION per run"
	declare -A RATIOS BARE_RPS GW_RPS BARE_CPU GW_CPU
	for ((r = 1; r <= ROUNDS; r++)); do
		for c in "${CASES[@]}"; do
			# Alternate who goes first, so a drift in the machine's speed
			# does not always favour the same side.
			if ((r % 2)); then
				bout=$(timed bare "$c")
				gout=$(timed gateway "$c")
			else
				gout=$(timed gateway "$c")
				bout=$(timed bare "$c")
			fi
			read -r b bcpu bmax <<<"$bout"
			read -r g gcpu gmax <<<"$gout"
			BARE_RPS[$c]+="$b " GW_RPS[$c]+="$g " BARE_CPU[$c]+="$bcpu " GW_CPU[$c]+="$gcpu "
			RATIOS[$c]+="$(awk -v g="$g" -v b="$b" 'BEGIN {printf "%.3f", g/b}') "
			printf '   round %d  %-24s bare %6.0f req/s %6.1f us CPU/req max %-8s gateway %6.0f req/s %6.1f us CPU/req max %s\n' \
				"$r" "${LABEL[$c]}" "$b" "$bcpu" "$bmax" "$g" "$gcpu" "$gmax"
		done
	done

	echo
	echo "Throughput ratio gateway / bare reverse_proxy (req/s), same binary, same upstream, same run$([[ $CONSOLE == 1 ]] && echo ", console on" || true)"
	printf '%-26s' "case"
	for ((r = 1; r <= ROUNDS; r++)); do printf '%8s' "r$r"; done
	printf '%9s%8s%5s %14s %14s\n' median target met "bare req/s" "gateway req/s"
	ALL_MET=yes
	for c in "${CASES[@]}"; do
		med=$(median <<<"${RATIOS[$c]}")
		met=$(awk -v m="$med" -v t="${TARGET[$c]}" 'BEGIN {print (m >= t) ? "yes" : "NO"}')
		[[ $met == yes ]] || ALL_MET=no
		printf '%-26s' "${LABEL[$c]}"
		for x in ${RATIOS[$c]}; do printf '%8s' "$x"; done
		printf '%9.3f%8s%5s %14.0f %14.0f\n' "$med" ">=${TARGET[$c]}" "$met" \
			"$(median <<<"${BARE_RPS[$c]}")" "$(median <<<"${GW_RPS[$c]}")"
	done
	echo "(req/s columns: medians over the rounds; all wrk targets met: $ALL_MET)"
	echo
	echo "CPU time of the front-end Caddy process per request (us, median over the rounds; wrk and the upstream not included)"
	printf '%-26s %10s %10s %10s\n' case bare gateway "gw - bare"
	for c in "${CASES[@]}"; do
		bc=$(median <<<"${BARE_CPU[$c]}") gc=$(median <<<"${GW_CPU[$c]}")
		printf '%-26s %10.1f %10.1f %+10.1f\n' "${LABEL[$c]}" "$bc" "$gc" "$(awk -v a="$gc" -v b="$bc" 'BEGIN {print a - b}')"
	done
	echo

	echo "== checking the gateway's statuses again after the rounds"
	for c in "${CASES[@]}"; do
		# In a subshell: a failure is reported at the end, after the other parts.
		(check_wrk gateway "$c") || FAILED+="after the rounds, ${LABEL[$c]}; "
	done
	echo
fi

if [[ $PROFILE == 1 ]]; then
	PROFILE_SECONDS=${PROFILE_SECONDS:-20}
	echo "== CPU profile of the gateway Caddy during a ${PROFILE_SECONDS}s paid-path wrk run"
	curl -s -o "$TMP/cpu.prof" "http://127.0.0.1:$ADMIN_PORT/debug/pprof/profile?seconds=$PROFILE_SECONDS" &
	curl_pid=$!
	sleep 0.1
	mapfile -d '' -t hargs < <(header_args paid -H)
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${PROFILE_SECONDS}s" "${hargs[@]}" "http://127.0.0.1:$GW_PORT${PATH_OF[paid]}")
	wait "$curl_pid"
	total=$(awk '/ requests in / {print $1}' <<<"$out")
	# cpu_of REGEX: CPU time (us) per request of the samples with a frame matching REGEX.
	cpu_of() {
		go tool pprof -top -focus "$1" ${2:+-ignore "$2"} "$CADDY" "$TMP/cpu.prof" 2>/dev/null |
			awk -v n="$total" '/Showing nodes accounting for/ {v=$5; sub(",","",v); u=1
				if (v ~ /ms$/) {sub("ms","",v); u=1e-3} else sub("s","",v); printf "%.1f", v*u*1e6/n; found=1}
				END {if (!found) printf "0.0"}'
	}
	proc=$(go tool pprof -top "$CADDY" "$TMP/cpu.prof" 2>/dev/null | awk -v n="$total" '/Total samples/ {v=$6; sub("s","",v); printf "%.1f", v*1e6/n}')
	proxy='reverseproxy\.\(\*Handler\)\.ServeHTTP'
	printf '   %s requests, %s req/s; gateway process CPU %s us/request\n' "$total" "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")" "$proc"
	printf '   reverse_proxy handler %s us/request; the paywall itself (its ServeHTTP minus the proxy under it) %s us/request\n' \
		"$(cpu_of "$proxy")" "$(cpu_of 'Paywall\)\.ServeHTTP' "$proxy")"
	echo "-- the paywall's own frames (cumulative, the proxy under it left out):"
	go tool pprof -top -cum -focus 'Paywall\)\.ServeHTTP' -ignore "$proxy" -nodecount 60 "$CADDY" "$TMP/cpu.prof" 2>/dev/null |
		grep -vE 'caddyhttp\.|net/http\.\(\*conn\)|serverHandler' | sed -n '/flat%/,$p' | head -25
	echo "-- top of the whole process:"
	go tool pprof -top -nodecount 15 "$CADDY" "$TMP/cpu.prof" 2>/dev/null | sed -n '/flat%/,$p'
	echo
fi

if [[ " $PARTS " == *" webhook "* ]]; then
	echo "== webhook: $WEBHOOK_EVENTS signed checkout.session.completed events, $WEBHOOK_CONCURRENCY workers, to the gateway"
	before=$(rcli XLEN "${PREFIX}audit")
	run_id=wl$(date +%s%N)
	"$TMP/webhookload" -url "http://127.0.0.1:$GW_PORT/paywall/webhook" -secret "$WEBHOOK_SECRET" \
		-n "$WEBHOOK_EVENTS" -c "$WEBHOOK_CONCURRENCY" -product pro -prefix "$run_id" ||
		{ show_log gateway; die "webhook load failed"; }
	# Applied to the real Redis: one user hash and one audit entry per event.
	users=$(rcli --scan --pattern "${PREFIX}user:${run_id}-u*" | wc -l)
	after=$(rcli XLEN "${PREFIX}audit")
	((users == WEBHOOK_EVENTS)) || die "webhook: $users user hashes in Redis, want $WEBHOOK_EVENTS"
	((after - before == WEBHOOK_EVENTS)) || die "webhook: $((after - before)) audit entries, want $WEBHOOK_EVENTS"
	[[ $(rcli HGET "${PREFIX}user:${run_id}-u7" "pro|pi_${run_id}_7") == *'"product":"pro"'* ]] ||
		die "webhook: the grant of ${run_id}-u7 is not in Redis"
	echo "   verified in Redis: $users user hashes, $((after - before)) audit entries (target >= 2000 events/s)"
	echo
fi

if [[ " $PARTS " == *" startup "* ]]; then
	EMPTY_DB=1 FULL_DB=2
	echo "== start-up: filling Redis db $FULL_DB with $STARTUP_USERS users (store format, ${PREFIX}user:<user> -> pro|<source>)"
	t0=$(now_ms)
	fill='local p, from, to, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i = from, to do
  local src = "pi_fill_" .. i
  redis.call("HSET", p .. "user:u" .. i, "pro|" .. src,
    "{\"product\":\"pro\",\"source\":\"" .. src .. "\",\"created\":" .. now ..
    ",\"cause\":\"evt_fill_" .. i .. "\",\"payment_intent\":\"" .. src .. "\",\"updated\":" .. now .. "}")
end
return to - from + 1'
	batch=50000
	for ((from = 0; from < STARTUP_USERS; from += batch)); do
		to=$((from + batch - 1))
		((to < STARTUP_USERS)) || to=$((STARTUP_USERS - 1))
		rcli -n "$FULL_DB" EVAL "$fill" 0 "$PREFIX" "$from" "$to" "$(date +%s)" >/dev/null
	done
	keys=$(rcli -n "$FULL_DB" DBSIZE)
	((keys == STARTUP_USERS)) || die "fill: $keys keys in db $FULL_DB, want $STARTUP_USERS"
	echo "   filled in $(($(now_ms) - t0)) ms; used_memory $(rcli INFO memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r')"

	# The probe user holds pro in both databases: one filled user in the
	# full one, a granted user in the otherwise empty one.
	gateway_config 0 "$EMPTY_DB" >"$TMP/grant-empty.caddyfile"
	"$CADDY" paywall grant --config "$TMP/grant-empty.caddyfile" --adapter caddyfile \
		--user u777 --product pro >/dev/null 2>"$TMP/grant.log" || { show_log grant; die "grant in db $EMPTY_DB failed"; }

	declare -A READY FIRST
	for ((r = 1; r <= STARTUP_RUNS; r++)); do
		for db in $EMPTY_DB $FULL_DB; do
			port=$(free_port)
			gateway_config "$port" "$db" >"$TMP/startup.caddyfile"
			t0=$(now_ms)
			start startup "$CADDY" run --config "$TMP/startup.caddyfile" --adapter caddyfile
			pid=$LAST_PID
			wait_status "http://127.0.0.1:$port/paywall/healthz" 200 60 || { show_log startup; die "start-up: healthz never 200 (db $db)"; }
			t1=$(now_ms)
			probe=u777
			[[ $db == "$FULL_DB" ]] && probe=u$((STARTUP_USERS * 7 / 10))
			wait_status "http://127.0.0.1:$port/premium/article" 200 60 -H "X-User: $probe" -H "Accept: text/html" ||
				{ show_log startup; die "start-up: $probe's gated request never 200 (db $db)"; }
			t2=$(now_ms)
			stop "$pid"
			READY[$db]+="$((t1 - t0)) " FIRST[$db]+="$((t2 - t0)) "
		done
	done
	# Not a hot-path test: the check above also proves the filled format is
	# what the gateway reads.
	echo
	echo "Start-up: from starting the gateway Caddy to /paywall/healthz 200, and to a paid gated request 200"
	printf '%-34s %-22s %10s %22s\n' "Redis holds" "ready ms (runs)" "median" "first paid 200 median"
	printf '%-34s %-22s %10s %22s\n' "no entitlements (one probe user)" "${READY[$EMPTY_DB]}" \
		"$(median <<<"${READY[$EMPTY_DB]}")" "$(median <<<"${FIRST[$EMPTY_DB]}")"
	printf '%-34s %-22s %10s %22s\n' "$STARTUP_USERS entitlements" "${READY[$FULL_DB]}" \
		"$(median <<<"${READY[$FULL_DB]}")" "$(median <<<"${FIRST[$FULL_DB]}")"
	echo
fi

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ -z $FAILED ]] || die "failed checks: $FAILED"
