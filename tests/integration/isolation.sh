#!/usr/bin/env bash
# Isolation of demo copies, tried the way a visitor with admin rights would:
# code running as root inside one copy (podman exec ... php) opens connections
# to everything it should not reach, and each must fail within 2 s, while
# every copy still answers through the proxy.
#
# Two claimed copies (A, B) and one waiting in the pool (P) of the
# shop-fixture template, behind a real Caddy and demux serve. From inside A:
# B's and P's app and database ports, a listener this test starts on the
# bridge's host address, one on the host's own address, and one in a network
# namespace this test makes to stand for "outside the machine". Probes go
# only to this machine's own containers, bridge, addresses and namespaces.
# Also: MariaDB answers only inside its copy, no database port is published,
# demux puts its firewall back when it goes, "demux firewall status".
#
# Copies are restored the way [pool] restore says: DEMUX_TEST_RESTORE=prepared
# (the default) or archive; isolation_archive.sh runs this file with the
# latter, so that the rules are tried on both restore paths.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

[ -x "$DEMUX_BIN" ] || t_skip_all "demux is not built ($DEMUX_BIN)"
command -v caddy >/dev/null || t_skip_all "caddy is not installed"
command -v podman >/dev/null || t_skip_all "podman is not installed"
command -v nft >/dev/null || t_skip_all "nft is not installed"
command -v socat >/dev/null || t_skip_all "socat is not installed"
t_remove_containers_at_exit isolation

TEMPLATE=isoshop
BD=demo.localhost
RESTORE=${DEMUX_TEST_RESTORE:-prepared}
need_podman_service || { t_fail "podman service starts"; t_done; }
if ! bash "$DEMUX_ROOT/scripts/build-image" shop-fixture >"$T_DIR/build-image.log" 2>&1; then
	t_fail "build the shop-fixture image" "$(tail -5 "$T_DIR/build-image.log")"
	t_done
fi
start_caddy || { t_fail "caddy starts" "$(tail -5 "$T_DIR/caddy/caddy.log")"; t_done; }

serve_setup
{
	serve_conf_head
	cat <<CONF
[pool $TEMPLATE]
min_ready = 1
max_instances = 4
provision_concurrency = 1
restore = $RESTORE
ttl = 10m
port_min = 45000
port_max = 45099
CONF
} >"$T_DIR/demux.conf"

if ! "$DEMUX_BIN" template create --config "$T_DIR/demux.conf" --name "$TEMPLATE" \
	--image localhost/demux/shop-fixture:latest --label demux.test=isolation \
	>"$T_DIR/template.log" 2>&1; then
	t_fail "demux template create" "$(tail -5 "$T_DIR/template.log")"
	t_done
fi
t_match "the template records its isolated network" \
	"$(cat "$T_DIR/state/templates/$TEMPLATE/template.json")" '"network": "demux"'

"$DEMUX_BIN" serve --config "$T_DIR/demux.conf" >>"$T_DIR/serve.log" 2>&1 &
SERVE_PID=$!
_t_pids+=("$SERVE_PID")
wait_for "demux serve" 60 curl -sf -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/healthz" ||
	{ t_fail "demux serve starts" "$(tail -5 "$T_DIR/serve.log")"; t_done; }

# claim: sets ID to a new demo's id (the client address differs per claim, so
# the per-client limits of the front door stay out of the way).
claim() {
	local n=$1
	curl -s -m 90 -o "$T_DIR/claim" -w '%{http_code}' -X POST -H "Host: $BD:$PROXY_PORT" \
		-H "X-Forwarded-For: 192.0.2.$n" -H 'Content-Type: application/json' \
		--data-binary "{\"template\":\"$TEMPLATE\"}" \
		"http://127.0.0.1:$PROXY_PORT/api/v1/demos" >"$T_DIR/code"
	ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T_DIR/claim" 2>/dev/null)
}
claim_ready() {
	local i
	for i in $(seq 1 90); do
		claim "$1"
		[ "$(cat "$T_DIR/code")" = 201 ] && [ -n "$ID" ] && return 0
		sleep 1
	done
	return 1
}
pw() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credentials"]["password"] or "")' "$T_DIR/claim" 2>/dev/null; }
claim_ready 1 || { t_fail "claim demo A" "$(cat "$T_DIR/claim")"; t_done; }
A=$ID
PW_A=$(pw)
claim_ready 2 || { t_fail "claim demo B" "$(cat "$T_DIR/claim")"; t_done; }
B=$ID
PW_B=$(pw)
ready_id() {
	"$DEMUX_BIN" ls --json --config "$T_DIR/demux.conf" 2>/dev/null | python3 -c '
import json, sys
for d in json.load(sys.stdin)["demos"]:
    if d.get("state") == "ready":
        print(d["id"]); break'
}
has_ready() { [ -n "$(ready_id)" ]; }
wait_for "a pooled copy" 90 has_ready ||
	{ t_fail "the pool refills one ready copy" "$(tail -5 "$T_DIR/serve.log")"; t_done; }
P=$(ready_id)
t_ok "two claimed copies and one pooled copy"
case $RESTORE in
prepared) t_match "the copies come from the prepared restore" "$(cat "$T_DIR/serve.log")" 'restores from the prepared .*restore.tar' ;;
archive) t_match "the copies come from the full archive" "$(cat "$T_DIR/serve.log")" 'restores from the archive .*checkpoint.tar' ;;
esac
t_match "no copy fell back to another path" "$(grep -c 'restore failed' "$T_DIR/serve.log")" '^0$'
# The template's CPU limit holds on every copy, on both paths (the prepared
# restore puts it on after the restore): the quota Podman reports is the
# template's cpus per 100 ms.
want_quota=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["cpus"] * 100000))' \
	"$T_DIR/state/templates/$TEMPLATE/template.json")
for c in "$A" "$B" "$P"; do
	t_eq "copy $c runs under the template's CPU limit" \
		"$(podman inspect -f '{{.HostConfig.CpuQuota}}' "demux-$c" 2>&1)" "$want_quota"
done

ip_of() { podman inspect "demux-$1" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'; }
IP_B=$(ip_of "$B")
IP_P=$(ip_of "$P")
GW=$(podman network inspect demux --format '{{range .Subnets}}{{.Gateway}}{{end}}')
t_match "copies have addresses on demux's network" "$IP_B $IP_P $GW" '^10\.[0-9.]+ 10\.[0-9.]+ 10\.[0-9.]+$'

# probe CONTAINER HOST PORT: "open", "refused" or "blocked <ms>" from inside.
probe() {
	podman exec "demux-$1" php -r '
$t = microtime(true);
$s = @fsockopen($argv[1], (int)$argv[2], $en, $es, 2);
$ms = (int)((microtime(true) - $t) * 1000);
if ($s) { echo "open"; } elseif ($en == 111) { echo "refused"; } else { echo "blocked $ms"; }' "$2" "$3" 2>&1
}
# must_block DESC CONTAINER HOST PORT: the connection fails within 2 s
# (timed out: dropped by the firewall, not merely refused by a closed port).
must_block() {
	local out
	out=$(probe "$2" "$3" "$4")
	if [[ $out =~ ^blocked\ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -le 2500 ]; then
		t_ok "$1"
	else
		t_fail "$1" "got: $out" "want: blocked within 2 s"
	fi
}

must_block "A cannot reach claimed copy B's app port" "$A" "$IP_B" 80
must_block "A cannot reach claimed copy B's database port" "$A" "$IP_B" 3306
must_block "A cannot reach pooled copy P's app port" "$A" "$IP_P" 80
must_block "A cannot reach pooled copy P's database port" "$A" "$IP_P" 3306
must_block "P cannot reach A either" "$P" "$(ip_of "$A")" 80

# Listeners of this test on the host: on the bridge's address and, when the
# host has one, on its own global address. Both answer from the host itself.
LPORT=$(free_port)
socat "TCP-LISTEN:$LPORT,bind=$GW,fork,reuseaddr" SYSTEM:'echo hello' >/dev/null 2>&1 &
_t_pids+=("$!")
HOST_IP=$(ip -4 -o addr show scope global 2>/dev/null |
	awk '$2 !~ /^(demux|podman|veth|cni|br-|docker)/ { sub(/\/.*/, "", $4); print $4; exit }')
HPORT=$(free_port)
socat "TCP-LISTEN:$HPORT,fork,reuseaddr" SYSTEM:'echo hello' >/dev/null 2>&1 &
_t_pids+=("$!")
wait_for "listener on the bridge address" 5 bash -c "exec 3<>/dev/tcp/$GW/$LPORT"
t_check "the host itself reaches its listener on the bridge address" bash -c "exec 3<>/dev/tcp/$GW/$LPORT"
must_block "A cannot reach a service on the bridge's host address" "$A" "$GW" "$LPORT"
if [ -n "$HOST_IP" ]; then
	must_block "A cannot reach a service on the host's address $HOST_IP" "$A" "$HOST_IP" "$HPORT"
else
	echo "# the host has no global IPv4 address besides the bridges: nothing more to probe"
fi

# "Outside the machine": a network namespace of this test, routed through the
# host like any other network would be.
NS=demux-iso-$$
VH=dxh$$
VN=dxn$$
OUT_IP=198.18.$((RANDOM % 200 + 20)).2
if ip netns add "$NS" 2>/dev/null; then
	t_on_exit "ip netns del $NS; ip link del $VH"
	ip link add "$VH" type veth peer name "$VN"
	ip link set "$VN" netns "$NS"
	ip addr add "${OUT_IP%.2}.1/30" dev "$VH"
	ip link set "$VH" up
	ip netns exec "$NS" ip addr add "$OUT_IP/30" dev "$VN"
	ip netns exec "$NS" ip link set "$VN" up
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" ip route add default via "${OUT_IP%.2}.1"
	OPORT=$(free_port)
	ip netns exec "$NS" socat "TCP-LISTEN:$OPORT,fork,reuseaddr" SYSTEM:'echo hello' >/dev/null 2>&1 &
	_t_pids+=("$!")
	wait_for "listener outside" 5 bash -c "exec 3<>/dev/tcp/$OUT_IP/$OPORT"
	t_check "the host reaches the outside listener" bash -c "exec 3<>/dev/tcp/$OUT_IP/$OPORT"
	must_block "A cannot reach beyond the machine (egress = none)" "$A" "$OUT_IP" "$OPORT"
else
	t_fail "make a network namespace for the outside listener"
fi

# A copy's database: open inside the copy, closed on its network address
# (MariaDB listens on 127.0.0.1), and no port published for it.
t_eq "inside A, its own database answers on 127.0.0.1:3306" "$(probe "$A" 127.0.0.1 3306)" open
out=$(timeout 5 bash -c "exec 3<>/dev/tcp/$IP_B/3306" 2>/dev/null && echo open || echo closed)
t_eq "B's database refuses connections on its network address, even from the host" "$out" closed
ports=$(podman inspect "demux-$B" --format '{{range $p, $b := .NetworkSettings.Ports}}{{if $b}}{{$p}} {{end}}{{end}}')
t_eq "B publishes its app port only" "$(echo $ports)" "80/tcp"

# Both demos still serve their visitors through the proxy.
for id in "$A" "$B"; do
	code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Host: $id.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/")
	t_eq "demo $id answers 200 through the proxy" "$code" 200
done

# Each copy has its own admin password, shown to its owner only, and it opens
# that copy's back office and no other.
TPL_PW=$(podman image inspect localhost/demux/shop-fixture:latest --format '{{index .Config.Labels "demux.admin_password"}}')
t_match "A's owner is shown a password" "$PW_A" '^.{16}$'
if [ "$PW_A" != "$PW_B" ] && [ "$PW_A" != "$TPL_PW" ] && [ "$PW_B" != "$TPL_PW" ]; then
	t_ok "A's and B's passwords differ from each other and from the template's"
else
	t_fail "A's and B's passwords differ from each other and from the template's" "A=$PW_A B=$PW_B"
fi
admin() { curl -s -m 20 -o /dev/null -w '%{http_code}' -u "admin:$2" -H "Host: $1.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/admin"; }
t_eq "A's password opens A's back office" "$(admin "$A" "$PW_A")" 200
t_eq "A's password does not open B's" "$(admin "$B" "$PW_A")" 401
t_eq "the template's password opens neither" "$(admin "$A" "$TPL_PW")$(admin "$B" "$TPL_PW")" 401401

# One client address holds at most max_active_per_client (3) demos: A and B
# came from this address through the proxy; a third is handed out, a fourth
# is refused with 429 and hands out nothing.
claim 3
t_eq "a third demo for this address: 201" "$(cat "$T_DIR/code")" 201
claim 4
t_eq "a fourth active demo for this address: 429" "$(cat "$T_DIR/code")" 429
t_match "... saying why" "$(cat "$T_DIR/claim")" 'client_limit'

# The firewall is demux's to keep: status, and put back after a flush.
t_check "demux firewall status: in place" "$DEMUX_BIN" firewall status
nft delete table inet demux
t_check "demux serve puts the firewall back within 7 s" wait_for "firewall" 7 nft list table inet demux
must_block "after that, A still cannot reach B" "$A" "$IP_B" 80
t_match "the daemon says so in its log" "$(cat "$T_DIR/serve.log")" 'firewall tables were missing'

# --- disk: a copy's writes are bounded (docs/STORAGE.md) ---------------------
# The template was made with the default --disk 1g on demux's btrfs store
# (tests/run sets it up); every copy inherits the bound from the checkpoint.
# Root inside A writes 1.5 GB: the write stops at about 1 GiB with "Disk
# quota exceeded" (or "No space left"), while B, the pool and the API go on.
t_match "the template records its disk bound" \
	"$(cat "$T_DIR/state/templates/$TEMPLATE/template.json")" '"disk_bytes": 1073741824'
t_match "the copies run on demux's btrfs store" \
	"$(podman info --format '{{.Store.GraphDriverName}} {{.Store.GraphRoot}}')" '^btrfs /'
out=$(timeout 180 podman exec "demux-$A" dd if=/dev/zero of=/var/tmp/fill bs=1M count=1500 2>&1)
t_match "inside A, writing 1.5 GB fails at the bound" "$out" 'Disk quota exceeded|No space left on device'
written=$(printf '%s\n' "$out" | sed -nE 's/^([0-9]+) bytes.*/\1/p' | tail -1)
if [ -n "$written" ] && [ "$written" -le $((1024 * 1024 * 1024)) ] &&
	[ "$written" -ge $((512 * 1024 * 1024)) ]; then
	t_ok "A wrote $((written / 1048576)) MiB before it stopped (bound: 1024 MiB)"
else
	t_fail "A wrote between 512 MiB and 1 GiB before it stopped" "$out"
fi
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Host: $B.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/")
t_eq "with A full, demo $B still answers 200 through the proxy" "$code" 200
out=$(timeout 60 podman exec "demux-$B" dd if=/dev/zero of=/var/tmp/fill bs=1M count=64 2>&1)
t_match "with A full, B can still write 64 MB" "$out" '^67108864 bytes|[[:space:]]67108864 bytes'
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H "Host: $BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/api/v1/demos/$B")
t_eq "with A full, the API still answers for B" "$code" 200
podman exec "demux-$A" rm -f /var/tmp/fill
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Host: $A.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/")
t_eq "once the file is gone, demo $A answers 200 again" "$code" 200

kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
t_done
