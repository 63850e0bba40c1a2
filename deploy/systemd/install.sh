#!/usr/bin/env bash
# Installs Batchkeeper as a systemd service. Safe to run again (upgrades the binary, keeps configuration and data).
#
#   sudo deploy/systemd/install.sh                 publish from this checkout and install
#   sudo deploy/systemd/install.sh --from DIR      install an existing `dotnet publish` output instead
#   sudo deploy/systemd/install.sh --uninstall     stop and remove the service and binary; keep config, data, logs
#   sudo deploy/systemd/install.sh --uninstall --purge   also remove config, data, logs and the user
#   --destdir DIR   install under DIR (for packaging and tests): no user, no systemctl
#
# Layout: binary /opt/batchkeeper, configuration /etc/batchkeeper (appsettings.json, environment),
# projects /var/lib/batchkeeper/projects, logs /var/log/batchkeeper, unit /etc/systemd/system/batchkeeper.service.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
destdir=""
from=""
action="install"
purge="no"
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) destdir="${2:?--destdir needs a folder}"; shift 2 ;;
    --from) from="${2:?--from needs a folder}"; shift 2 ;;
    --uninstall) action="uninstall"; shift ;;
    --purge) purge="yes"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

bin="$destdir/opt/batchkeeper"
etc="$destdir/etc/batchkeeper"
state="$destdir/var/lib/batchkeeper"
logs="$destdir/var/log/batchkeeper"
unit="$destdir/etc/systemd/system/batchkeeper.service"
real_system() { [ -z "$destdir" ]; }
have_systemd() { real_system && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

if [ "$action" = "uninstall" ]; then
  if have_systemd; then
    systemctl disable --now batchkeeper.service 2>/dev/null || true
  fi
  rm -f "$unit"
  rm -rf "$bin"
  if have_systemd; then systemctl daemon-reload; fi
  if [ "$purge" = "yes" ]; then
    rm -rf "$etc" "$state" "$logs"
    if real_system && id batchkeeper >/dev/null 2>&1; then userdel batchkeeper; fi
  fi
  echo "Batchkeeper uninstalled$([ "$purge" = yes ] && echo ', with its configuration, data and logs' || echo '; configuration, data and logs kept')."
  exit 0
fi

# The binary: a self-contained publish is not needed, the .NET runtime is required on the host.
if [ -z "$from" ]; then
  from="$(mktemp -d)"
  trap 'rm -rf "$from"' EXIT
  dotnet publish "$repo/src/Daemon/Batchkeeper.Daemon.csproj" -c Release -o "$from" --nologo -v quiet
fi
[ -f "$from/batchkeeper.dll" ] || { echo "install.sh: $from has no batchkeeper.dll (not a publish output)" >&2; exit 2; }

if real_system && ! id batchkeeper >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/batchkeeper --no-create-home --shell /usr/sbin/nologin batchkeeper
fi

install -d -m 0755 "$bin" "$(dirname "$unit")"
install -d -m 0750 "$etc" "$state" "$state/projects" "$logs"
# Replace the binary as a whole, so no file of an older version is left behind.
rm -rf "$bin.new" && cp -R "$from" "$bin.new" && rm -rf "$bin" && mv "$bin.new" "$bin"
chmod 0755 "$bin/batchkeeper"

# Configuration is the administrator's: written once, never overwritten.
if [ ! -f "$etc/appsettings.json" ]; then
  cat > "$etc/appsettings.json" <<'JSON'
{
  "Batchkeeper": {
    "Backend": "Local",
    "ReconcileInterval": "00:00:30",
    "Retry": { "MaxAttempts": 3, "Backoff": "00:01:00", "MemoryFactor": 1.5, "MaxInterruptions": 5 },
    "Local": { "MaxConcurrentJobs": 2 },
    "Aws": { "Region": null, "MaxRequestsPerSecond": 20 }
  },
  "Serilog": { "MinimumLevel": { "Default": "Information" } }
}
JSON
fi
if [ ! -f "$etc/environment" ]; then
  cat > "$etc/environment" <<'ENV'
# Environment for batchkeeper.service, e.g.:
# Batchkeeper__Backend=Aws
# AWS_REGION=us-east-1
# AWS_PROFILE=batchkeeper
ENV
  chmod 0640 "$etc/environment"
fi

install -m 0644 "$here/batchkeeper.service" "$unit"
if real_system && id batchkeeper >/dev/null 2>&1; then
  chown -R batchkeeper:batchkeeper "$state" "$logs"
  chown root:batchkeeper "$etc" "$etc/appsettings.json" "$etc/environment"
fi

if have_systemd; then
  systemctl daemon-reload
  systemctl enable batchkeeper.service
  systemctl restart batchkeeper.service
  echo "Batchkeeper installed and started: journalctl -u batchkeeper -f"
else
  echo "Batchkeeper installed under ${destdir:-/}; systemd is not running here, so the service was not started."
fi
