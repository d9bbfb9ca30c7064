# Shared by scripts/demo.sh and Benchmarks/ingest.sh (source it; needs $CONCORD):
#   hub_start DIR        keys, a loopback configuration and `concord hub serve` on an embedded
#                        PostgreSQL under DIR; waits until /readyz answers. Sets HUB_URL, HUB_PID.
#   hub_stop             SIGTERM, then wait: the hub finishes its requests and stops its cluster.
#   agent_config FILE AGENCY DATASET EXTRACT AGREEMENT LINKAGE_KEY [AGREEMENTS_DIR]
#                        writes a concord-agent/1 configuration for one dataset (keys in FILE's
#                        folder under keys/, state under state/; agreements from Agreements/
#                        unless AGREEMENTS_DIR is given).
#   small_exchange DIR   a hub under DIR/hub with the shipped agreements, essex-police registered
#                        and its agent's push of a small synthetic police extract loaded; the
#                        analyst n-carrow's token in DIR/n-carrow.token, the IG officer
#                        i-thackeray's in DIR/i-thackeray.token (scripts/browser-test.sh, api-test.sh).
HUB_PID=""
HUB_URL=""
HUB_DIR=""

hub_start() {
    HUB_DIR=$1
    local root
    root=$(pwd)
    if [[ -d "$HUB_DIR/data/postgres/cluster" ]]; then
        # A hub left running by an interrupted run: stop its cluster before starting afresh.
        local pg_ctl=/usr/lib/postgresql/15/bin/pg_ctl
        if ((EUID == 0)); then runuser -u concord-pg -- "$pg_ctl" -D "$HUB_DIR/data/postgres/cluster" -m fast stop >/dev/null 2>&1 || true
        else "$pg_ctl" -D "$HUB_DIR/data/postgres/cluster" -m fast stop >/dev/null 2>&1 || true; fi
    fi
    rm -rf "$HUB_DIR"
    mkdir -p "$HUB_DIR"
    "$CONCORD" keys new-hub --out "$HUB_DIR/keys" > /dev/null 2>&1
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat > "$HUB_DIR/hub.yaml" <<YAML
format: concord-hub/1
listen: {host: 127.0.0.1, port: $port}
data_dir: data
keys: {encryption: keys/hub-encryption.key, signing: keys/hub-signing.key, person_id_secret: keys/person-id.secret}
schemas_dir: $root/Schemas/datasets
YAML
    "$CONCORD" hub serve --config "$HUB_DIR/hub.yaml" > "$HUB_DIR/serve.log" 2>&1 &
    HUB_PID=$!
    HUB_URL="http://127.0.0.1:$port"
    local _
    for _ in $(seq 1 240); do
        curl -sf "$HUB_URL/readyz" > /dev/null 2>&1 && return 0
        kill -0 "$HUB_PID" 2>/dev/null || { cat "$HUB_DIR/serve.log" >&2; echo "the hub stopped" >&2; return 1; }
        sleep 0.5
    done
    cat "$HUB_DIR/serve.log" >&2
    echo "the hub did not become ready" >&2
    return 1
}

hub_stop() {
    if [[ -n "$HUB_PID" ]] && kill -0 "$HUB_PID" 2>/dev/null; then
        kill -TERM "$HUB_PID" 2>/dev/null || true
        wait "$HUB_PID" 2>/dev/null || true
    fi
    HUB_PID=""
}

agent_config() {
    local file=$1 agency=$2 dataset=$3 extract=$4 agreement=$5 linkage_key=$6 root
    root=$(pwd)
    local agreements_dir=${7:-$root/Agreements}
    cat > "$file" <<YAML
format: concord-agent/1
agency: $agency
hub:
  url: $HUB_URL
  encryption_key: "$(cat "$HUB_DIR/keys/hub-encryption.pub")"
  receipt_key: "$(cat "$HUB_DIR/keys/hub-signing.pub")"
signing_key: keys/$agency.agency-signing.key
linkage_key: $linkage_key
state_dir: state
agreements_dir: $agreements_dir
schemas_dir: $root/Schemas/datasets
datasets:
  $dataset:
    schema: $root/Schemas/datasets/$dataset.yaml
    extract: $extract
    mode: snapshot
    agreements: [$agreement]
YAML
}

small_exchange() {
    local out=$1 agency=essex-police root
    root=$(pwd)
    hub_start "$root/$out/hub" || return 1
    local hub=$out/hub/hub.yaml
    "$CONCORD" agreement apply --config "$hub" --as scripts Agreements/*.yaml > /dev/null
    "$CONCORD" keys new-agency --id "$agency" --out "$out/agency/keys" > /dev/null
    "$CONCORD" hub agency add --config "$hub" --as scripts --id "$agency" --name "Essex Police" \
        --public-key "$(cat "$out/agency/keys/$agency.agency-signing.pub")" > /dev/null
    (umask 077
     "$CONCORD" hub user add --config "$hub" --as scripts --id n-carrow --role analyst 2> /dev/null > "$out/n-carrow.token"
     "$CONCORD" hub user add --config "$hub" --as scripts --id i-thackeray --role ig-officer 2> /dev/null > "$out/i-thackeray.token")
    "$CONCORD" keys new-linkage-key --out "$out/linkage.key" > /dev/null 2>&1
    "$CONCORD" synth --seed 3 --people 300 --out "$out/extracts" > /dev/null
    agent_config "$out/agency/agent.yaml" "$agency" police_da_incidents "$root/$out/extracts/police_da_incidents.csv" \
        early-help-domestic-abuse "$root/$out/linkage.key"
    "$CONCORD" agent push --config "$out/agency/agent.yaml" > "$out/push.log" 2>&1 || { cat "$out/push.log" >&2; echo "the agent's push failed" >&2; return 1; }
}
