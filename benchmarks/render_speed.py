"""Hopper-stand frames/s: our env's rendering against the bare ``mujoco.Renderer``, per OpenGL backend.

    python benchmarks/render_speed.py [--size 480] [--frames 20] [--repeats 5] [--backends egl osmesa]

Each backend runs in its own process (``MUJOCO_GL`` is read when MuJoCo and PyOpenGL are
first imported), which renders, in alternation within every repeat, the same states of
one recorded hopper-stand episode (1000 steps of Gaussian actions, sigma 0.3, seed 0:
standing, falling, lying; ``--frames`` states spread over it) through

* ours: ``env.render()`` of ``HopperStandEnv(render_mode="rgb_array")`` (our
  :class:`~mollirl.envs.mujoco_render.FrameRenderer`), timed alone (the state is set
  before the clock starts);
* bare: ``mujoco.Renderer(model, size, size)``, ``update_scene(data, camera)`` and
  ``render()``, with the same model (shadow map included), camera and scene flags;
* Gymnasium: ``gym.make("Hopper-v5", render_mode="rgb_array")``'s ``MujocoRenderer``,
  the path hopper-stand's frames took before (shadow map 4096). Its viewer does not make
  its OpenGL context current before drawing (with another renderer in the process it
  draws wrong pixels), so this script makes it current, outside the clock.

Cases: ``default`` (shadow map sized to the frame), ``shadow 4096`` (MuJoCo's and
Hopper-v5's map: Hopper-v5's pixels), ``fast`` (no shadows or reflections: ``enjoy
--fast-render``), ``follow`` (the tracking camera) and ``gymnasium`` (Hopper-v5's own
renderer against the bare renderer at 4096). Each row: median frames/s over the repeats
(wall clock), the median of the per-repeat ratios ours / bare (paired, so a load change
between repeats cancels), CPU ms per frame (this process, OpenGL's worker threads
included) and whether ours and bare drew the same pixels. ``pipeline`` rows time what
``enjoy --video`` does per frame (a step, a frame, the mp4 encoder fed through
imageio-ffmpeg, whose process's CPU time is not counted) over the episode's first
``--frames`` steps, against the same frames alone, right after.
The load average (other processes on the machine) is printed before and after.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time

CASES = ("default", "shadow 4096", "fast", "follow", "gymnasium")


def _child(backend: str, size: int, n_frames: int, repeats: int) -> dict:
    os.environ["MUJOCO_GL"] = backend  # before mujoco and PyOpenGL are imported
    os.environ.pop("PYOPENGL_PLATFORM", None)
    import gymnasium as gym
    import mujoco
    import numpy as np

    import mollirl  # noqa: F401  (registers the envs)
    from mollirl.envs.hopper_stand import HopperStandEnv
    from mollirl.video import write_video

    flags = (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION)

    def ours_env(**kwargs):
        env = HopperStandEnv(render_mode="rgb_array", width=size, height=size, **kwargs)
        env.reset(seed=0)
        env.render()  # the viewer (GL context, MjrContext) exists from here on
        return env

    # the states: one recorded episode
    recorder = HopperStandEnv()
    recorder.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = np.clip(0.3 * rng.standard_normal((1000, 3)), -1.0, 1.0)
    states = []
    for t, action in enumerate(actions):
        recorder.step(action)
        if t % max(1, len(actions) // n_frames) == 0 and len(states) < n_frames:
            states.append((recorder.data.qpos.copy(), recorder.data.qvel.copy()))

    envs = {"default": ours_env(), "shadow 4096": ours_env(shadow_size=4096), "fast": ours_env(),
            "follow": ours_env(camera="follow")}
    fast_viewer = envs["fast"].mujoco_renderer.viewer
    for flag in flags:  # as mollirl.common.playback.EpisodeRenderer(fast=True) does
        fast_viewer.scn.flags[flag] = 0
    gymnasium_env = gym.make("Hopper-v5", render_mode="rgb_array", width=size, height=size).unwrapped
    gymnasium_env.reset(seed=0)
    gymnasium_env.render()
    envs["gymnasium"] = gymnasium_env

    def bare_for(env, plain: bool = False):
        model = copy.copy(env.model)  # its shadow map size and offscreen buffer
        renderer = mujoco.Renderer(model, size, size)
        if plain:
            for flag in flags:
                renderer.scene.flags[flag] = 0
        camera = mujoco.MjvCamera()
        cam = env.mujoco_renderer.viewer.cam
        camera.type, camera.trackbodyid, camera.fixedcamid = cam.type, cam.trackbodyid, cam.fixedcamid
        camera.lookat[:], camera.distance, camera.azimuth, camera.elevation = cam.lookat, cam.distance, cam.azimuth, \
            cam.elevation
        return model, renderer, camera

    bare = {name: bare_for(env, plain=name == "fast") for name, env in envs.items()}

    def ours_frame(env, qpos, qvel):
        env.set_state(qpos, qvel)
        if env is gymnasium_env:  # its viewer draws with whatever context is current: make it its own, untimed
            env.mujoco_renderer.viewer.make_context_current()
        wall, cpu = time.perf_counter(), time.process_time()
        frame = env.render()
        return frame, time.perf_counter() - wall, time.process_time() - cpu

    def bare_frame(name, env, qpos, qvel):
        model, renderer, camera = bare[name]
        env.set_state(qpos, qvel)
        wall, cpu = time.perf_counter(), time.process_time()
        renderer.update_scene(env.data, camera)
        frame = renderer.render()
        return frame, time.perf_counter() - wall, time.process_time() - cpu

    def pipeline(env) -> tuple[float, float, float]:
        """What enjoy --video does per frame, a step, a frame and the mp4 encoder, over the first ``n_frames``
        steps; then the frames alone of the same states. (frames/s, CPU ms/frame here, frames alone / pipeline)."""
        env.reset(seed=0)
        seen = []

        def frames():
            for action in actions[:n_frames]:
                env.step(action)
                seen.append((env.data.qpos.copy(), env.data.qvel.copy()))
                yield env.render()

        with tempfile.TemporaryDirectory() as folder:
            wall, cpu = time.perf_counter(), time.process_time()
            write_video(frames(), os.path.join(folder, "clip.mp4"), fps=125)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        alone = sum(ours_frame(env, qpos, qvel)[1] for qpos, qvel in seen)
        return len(seen) / wall, cpu / len(seen) * 1e3, alone / wall

    rows = {name: {"ours_fps": [], "bare_fps": [], "ratio": [], "ours_cpu": [], "bare_cpu": [], "same": True}
            for name in envs}
    piped = {"default": [], "fast": []}
    for _ in range(repeats):
        for name, env in envs.items():
            t_ours = t_bare = c_ours = c_bare = 0.0
            for qpos, qvel in states:
                a, wall, cpu = ours_frame(env, qpos, qvel)
                t_ours, c_ours = t_ours + wall, c_ours + cpu
                b, wall, cpu = bare_frame(name, env, qpos, qvel)
                t_bare, c_bare = t_bare + wall, c_bare + cpu
                rows[name]["same"] &= bool(np.array_equal(a, b))
            row = rows[name]
            row["ours_fps"].append(len(states) / t_ours)
            row["bare_fps"].append(len(states) / t_bare)
            row["ratio"].append(t_bare / t_ours)
            row["ours_cpu"].append(c_ours / len(states) * 1e3)
            row["bare_cpu"].append(c_bare / len(states) * 1e3)
        for name in piped:
            piped[name].append(pipeline(envs[name]))
    renderer_name = ""
    try:
        from OpenGL import GL

        envs["default"].mujoco_renderer.viewer.make_context_current()
        renderer_name = GL.glGetString(GL.GL_RENDERER).decode()
    except Exception:  # noqa: BLE001 - only a label
        pass
    out = {"backend": backend, "gl_renderer": renderer_name, "size": size, "frames": len(states), "repeats": repeats,
           "shadow_size_default": int(envs["default"].model.vis.quality.shadowsize), "rows": {}, "pipeline": {}}
    for name, row in rows.items():
        out["rows"][name] = {key: float(np.median(row[key])) for key in ("ours_fps", "bare_fps", "ratio", "ours_cpu",
                                                                          "bare_cpu")}
        out["rows"][name]["ratio_range"] = [float(min(row["ratio"])), float(max(row["ratio"]))]
        out["rows"][name]["same"] = row["same"]
    # paired by repeat: the two were timed within seconds of each other
    out["default_vs_gymnasium_fps"] = float(np.median(np.divide(rows["default"]["ours_fps"],
                                                                rows["gymnasium"]["ours_fps"])))
    out["default_vs_gymnasium_cpu"] = float(np.median(np.divide(rows["gymnasium"]["ours_cpu"],
                                                                rows["default"]["ours_cpu"])))
    for name, runs in piped.items():
        out["pipeline"][name] = {key: float(np.median([r[k] for r in runs])) for k, key in enumerate(("fps", "cpu",
                                                                                                    "ratio"))}
    for env in envs.values():
        env.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=480, help="frame side in pixels (enjoy's default: 480)")
    parser.add_argument("--frames", type=int, default=20, help="states rendered per case and repeat")
    parser.add_argument("--repeats", type=int, default=5, help="repeats (medians are reported)")
    parser.add_argument("--backends", nargs="+", default=["egl", "osmesa"], choices=["egl", "osmesa", "glfw"])
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(args.child, args.size, args.frames, args.repeats)))
        return 0
    print(f"hopper-stand, {args.size} x {args.size}, {args.frames} states x {args.repeats} repeats per case; "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    header = (f"{'backend':<7} {'case':<12} {'ours fps':>9} {'bare fps':>9} {'ours/bare':>10} {'(min-max)':>13} "
              f"{'ours CPU ms':>12} {'bare CPU ms':>12} {'same pixels':>12}")
    print(header)
    results = []
    for backend in args.backends:
        command = [sys.executable, __file__, "--child", backend, "--size", str(args.size), "--frames",
                   str(args.frames), "--repeats", str(args.repeats)]
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{backend:<7} does not render here: {tail}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        for name in CASES:
            row = result["rows"][name]
            low, high = row["ratio_range"]
            label = name if name != "default" else f"default {result['shadow_size_default']}"
            print(f"{backend:<7} {label:<12} {row['ours_fps']:>9.1f} {row['bare_fps']:>9.1f} {row['ratio']:>9.0%} "
                  f"{f'({low:.0%}-{high:.0%})':>13} {row['ours_cpu']:>12.1f} {row['bare_cpu']:>12.1f} "
                  f"{'yes' if row['same'] else 'no':>12}", flush=True)
    for result in results:
        print(f"{result['backend']}: {result['gl_renderer']}; default vs Gymnasium's Hopper-v5 renderer: "
              f"{result['default_vs_gymnasium_fps']:.2f}x frames/s, "
              f"{result['default_vs_gymnasium_cpu']:.2f}x less CPU per frame (median of paired repeats)")
        for name, row in result["pipeline"].items():
            print(f"{result['backend']}: pipeline {name} (step + frame + mp4): {row['fps']:.1f} frames/s, "
                  f"{row['cpu']:.1f} CPU ms/frame here; {row['ratio']:.0%} of the rate of its frames alone")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
