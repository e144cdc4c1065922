# Shared by the ensure-*.sh scripts: install Debian packages when missing.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
# need_pkg COMMAND PACKAGE: install PACKAGE unless COMMAND is on PATH.
need_pkg() {
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}
