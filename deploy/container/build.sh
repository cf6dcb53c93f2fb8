#!/usr/bin/env bash
# Builds the silo's container image without pulling any base image: a self-contained publish of
# silo/Silo.csproj plus the glibc/libstdc++/OpenSSL files it loads, on top of scratch (Containerfile).
#   deploy/container/build.sh [--tag chatcluster-silo:cpu] [--no-image]
# --no-image stops after staging the root filesystem (artifacts/container/rootfs).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
tag="chatcluster-silo:cpu"
build_image=true
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --no-image) build_image=false; shift ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

out="$repo/artifacts/container"
rootfs="$out/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs/app" "$rootfs/etc/ssl/certs"

# A separate artifacts path keeps this RID-specific build out of the projects' own obj/ and bin/ folders.
dotnet publish "$repo/silo/Silo.csproj" -c Release -r linux-x64 --self-contained \
  --artifacts-path "$out/build" -o "$rootfs/app" -nologo -v quiet
# The LTTng tracing provider needs liblttng-ust, which the image does not carry; the runtime skips
# tracing without it.
rm -f "$rootfs/app/libcoreclrtraceptprovider.so"

# Shared libraries: those the program and its native libraries link to, plus OpenSSL, which .NET opens
# by name at run time (TLS to the Kubernetes API and to OTLP endpoints). The loader goes where the ELF
# files name it (/lib64); the rest go to /lib/x86_64-linux-gnu, a directory glibc's loader searches
# without an ld.so.cache.
libdir=/usr/lib/x86_64-linux-gnu
extra=("$libdir/libssl.so.3" "$libdir/libcrypto.so.3")
for f in "${extra[@]}"; do
  [ -e "$f" ] || { echo "build.sh: $f is missing (apt-get install libssl3)" >&2; exit 1; }
done
mapfile -t libs < <(
  for elf in "$rootfs/app/ChatCluster.Silo" "$rootfs"/app/*.so "${extra[@]}"; do
    ldd "$elf" | awk -v elf="$elf" '
      /not found/ { print "MISSING " $1 " (needed by " elf ")"; next }
      $2 == "=>" && $3 ~ /^\// { print $3 }
      $1 ~ /^\// { print $1 }'
  done | sort -u)
if printf '%s\n' "${libs[@]}" | grep -q '^MISSING'; then
  printf '%s\n' "${libs[@]}" | grep '^MISSING' >&2
  exit 1
fi
for lib in "${libs[@]}" "${extra[@]}"; do
  case "$lib" in
    "$rootfs"/*) continue ;; # the program's own libraries are already in /app
    */ld-linux-x86-64.so.2) dest="$rootfs/lib64/ld-linux-x86-64.so.2" ;;
    *) dest="$rootfs/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
  esac
  install -D -m 0755 "$(readlink -f "$lib")" "$dest"
done

# Enough of /etc for name lookups, TLS and a named user.
printf 'root:x:0:0:root:/root:/sbin/nologin\nchatcluster:x:10001:10001:chatcluster:/tmp:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nchatcluster:x:10001:\n' > "$rootfs/etc/group"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
fi
mkdir -p -m 1777 "$rootfs/tmp"
chmod -R a+rX "$rootfs"
echo "build.sh: root filesystem in $rootfs ($(du -sh "$rootfs" | cut -f1))"

if $build_image; then
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$repo/deploy/container/podman-containers.conf}"
  podman build --network=host -f "$repo/deploy/container/Containerfile" -t "$tag" "$out"
fi
