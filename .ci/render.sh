#!/usr/bin/env bash
# Headless MuJoCo rendering for the video tests: Mesa's OpenGL through EGL and OSMesa (Debian packages).
#
# Sourced by .ci/run (or run by hand: `source .ci/render.sh`). On a Debian machine
# as root with no stdin it installs what is missing of
#
#     EGL:    libegl1 libegl-mesa0 libgl1-mesa-dri libgl1   (MUJOCO_GL=egl, software rendering on any CPU)
#     OSMesa: libosmesa6                                     (MUJOCO_GL=osmesa, the fallback)
#
# Idempotent: installed packages are not installed again; `apt-get update` runs at
# most once, and not at all when the package lists are less than an hour old (e.g.
# just updated by postgres.sh). Safe under `set -euo pipefail`.
#
# MUJOCO_GL is not exported: on a machine without a display mollirl picks it when a
# MuJoCo env first renders (mollirl.video.select_gl_backend: egl if it works, else
# osmesa), which a fixed value here would bypass, and its tests check that choice.
# A MUJOCO_GL set by the caller is left as it is.
# Knobs: MOLLIRL_RENDER_FORCE_INSTALL=1 (run apt-get even when everything is installed).

_mollirl_render_setup() {
    local packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libosmesa6)
    local missing=()
    local package

    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        echo "render.sh: no dpkg-query/apt-get (not Debian): install EGL or OSMesa by hand" >&2
        return 1
    fi
    for package in "${packages[@]}"; do
        if [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]; then
            missing+=("$package")
        fi
    done
    if [ "${MOLLIRL_RENDER_FORCE_INSTALL:-0}" = "1" ]; then
        missing=("${packages[@]}")
    fi

    if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$(id -u)" != "0" ]; then
            echo "render.sh: missing ${missing[*]} and this is not root: cannot apt-get install" >&2
            return 1
        fi
        # lists updated less than an hour ago are reused (apt stamps the list files with the server's
        # dates, but each `apt-get update` touches lists/partial)
        if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' 2>/dev/null | head -n 1)" ] \
                || [ -z "$(find /var/lib/apt/lists/partial -maxdepth 0 -mmin -60 2>/dev/null)" ]; then
            DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 || return 1
        fi
        echo "render.sh: installing ${missing[*]} from Debian packages" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2 \
            || return 1
    fi

    if [ -n "${MUJOCO_GL:-}" ]; then
        echo "render.sh: EGL and OSMesa installed; MUJOCO_GL=$MUJOCO_GL kept" >&2
    elif [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        echo "render.sh: EGL and OSMesa installed; a display exists, MuJoCo renders with GLFW" >&2
    else
        echo "render.sh: EGL and OSMesa installed; no display: mollirl sets MUJOCO_GL (egl, else osmesa)" >&2
    fi
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # executed rather than sourced: install, nothing to export
    _mollirl_render_setup || exit 1
else
    _mollirl_render_setup
fi
