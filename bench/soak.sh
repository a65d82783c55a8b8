#!/usr/bin/env bash
# bench/soak.sh: mixed traffic against two gateways sharing one Redis for a
# set time, then a check that every decision was right and every confirmed
# payment is recorded (bench/soak/main.go does the traffic and the checks).
#
# Builds the Caddy binary of this repository and the soak program, starts
# redis-server (AOF on), the soak program (which serves the upstream site
# itself, on a port the kernel picks, and waits for the gateways), and two
# gateway Caddy processes from the same Caddyfile (only the port differs),
# each on a free loopback port below the kernel's ephemeral range.
#
# Bench-only shortcut, as in bench/run.sh: the gateways take the user from
# the X-User request header with no authentication in front. Never deploy
# this config. Stripe is never contacted: stripe_api_url is a closed port
# (9, discard).
#
# Settings (environment):
#   DURATION=60s   how long the traffic runs
#   WORKERS=4      concurrent page-traffic workers (plus one webhook sender)
#   PAID=20        users granted before the start
#
# Exit status: the soak program's (1 on any wrong decision or lost
# payment). Every process started here is stopped by its PID and the
# temporary directory removed, also on failure or ^C.

set -euo pipefail

DURATION=${DURATION:-60s}
WORKERS=${WORKERS:-4}
PAID=${PAID:-20}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/paywall-soak.XXXXXX")
PIDS=()

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
	echo "soak.sh: $*" >&2
	exit 1
}

export XDG_DATA_HOME=$TMP/xdg-data XDG_CONFIG_HOME=$TMP/xdg-config

for tool in go redis-server redis-cli curl; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

USED_PORTS=" "
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000)) # below ip_local_port_range (32768-)
		[[ $USED_PORTS == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS+="$p "
			echo "$p"
			return
		fi
	done
}

# start NAME CMD...: runs CMD in the background, logging to $TMP/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
}

show_log() { tail -n 30 "$TMP/$1.log" >&2 || true; }

echo "soak.sh: building caddy and the soak program" >&2
(cd "$ROOT" && go build -o "$TMP/caddy" ./cmd/caddy && go build -o "$TMP/soak" ./bench/soak)

REDIS_PORT=$(free_port)
mkdir -p "$TMP/redis"
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP/redis" --save "" \
	--appendonly yes --appendfsync everysec --daemonize no --logfile ""
for _ in $(seq 100); do
	[[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && break
	sleep 0.1
done
[[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] || { show_log redis; die "redis-server did not start"; }

SECRET=whsec_soak_$RANDOM$RANDOM
PREFIX="{soak}:"
# The gateways' ports: picked here, one at a time (free_port in $(...) runs
# in a subshell and cannot remember what it handed out).
GW_PORTS=()
for n in 1 2; do
	while :; do
		p=$(free_port)
		[[ " ${GW_PORTS[*]} $REDIS_PORT " == *" $p "* ]] || break
	done
	GW_PORTS+=("$p")
done
GATEWAYS=("http://127.0.0.1:${GW_PORTS[0]}" "http://127.0.0.1:${GW_PORTS[1]}")

echo "soak.sh: redis :$REDIS_PORT, gateways ${GATEWAYS[*]}, $DURATION" >&2
"$TMP/soak" -gateways "$(IFS=,; echo "${GATEWAYS[*]}")" -upstream 127.0.0.1:0 -upstream-file "$TMP/upstream.addr" \
	-redis "redis://127.0.0.1:$REDIS_PORT/0" -prefix "$PREFIX" -secret "$SECRET" \
	-duration "$DURATION" -workers "$WORKERS" -paid "$PAID" \
	-caddy "$TMP/caddy" -config "$TMP/Caddyfile.1" &
SOAK_PID=$!
PIDS+=("$SOAK_PID")
for _ in $(seq 100); do
	[[ -s $TMP/upstream.addr ]] && break
	kill -0 "$SOAK_PID" 2>/dev/null || die "the soak program exited early"
	sleep 0.1
done
[[ -s $TMP/upstream.addr ]] || die "the soak program's upstream did not start"
UPSTREAM=$(cat "$TMP/upstream.addr")
GW_PIDS=()
for n in 1 2; do
	port=${GW_PORTS[$((n - 1))]}
	cat >"$TMP/Caddyfile.$n" <<CADDY
{
	admin off
	auto_https off
	persist_config off
}
http://127.0.0.1:$port {
	paywall {
		stripe_secret_key     sk_test_soak
		stripe_webhook_secret $SECRET
		stripe_api_url        http://127.0.0.1:9
		redis                 redis://127.0.0.1:$REDIS_PORT/0
		key_prefix            $PREFIX
		session_secret        soak-session-secret-of-at-least-32-chars
		user                  {http.request.header.X-User}
		login_url             /login?next={http.paywall.return_to}
		on_store_error        deny
		product pro {
			name  "Pro articles"
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy $UPSTREAM
}
CADDY
	start "gateway$n" "$TMP/caddy" run --config "$TMP/Caddyfile.$n" --adapter caddyfile
	GW_PIDS+=("${PIDS[-1]}")
done
status=0
wait "$SOAK_PID" || status=$?
for n in 1 2; do
	kill -0 "${GW_PIDS[$((n - 1))]}" 2>/dev/null || { echo "soak.sh: gateway $n died during the soak" >&2; show_log "gateway$n"; status=1; }
done
panics=$(cat "$TMP/gateway1.log" "$TMP/gateway2.log" | grep -c -i 'panic' || true)
[[ $panics == 0 ]] || { echo "soak.sh: $panics panic lines in the gateway logs" >&2; status=1; }
echo "soak.sh: gateways alive to the end, $panics panic lines in their logs; exit $status" >&2
exit "$status"
