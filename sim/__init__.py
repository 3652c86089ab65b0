"""Physics stage of m2m-bench: AMP controllers for the AMP humanoid in MuJoCo (see sim/README.md).

Modules: ``humanoid`` (model + PD control), ``backend``/``mujoco_backend`` (simulator boundary),
``motion_lib`` (reference clips), ``observations``, ``env`` (batched gymnasium vector env),
``amp`` (networks, style reward, skrl AMP agent), ``metrics`` (physical metrics), ``controller``
(safe checkpoints), ``evaluate``, ``resolver`` (skill phrase -> controller), ``render``,
``train`` (``python -m sim.train``) and ``run`` (``python -m sim.run``, the closed loop).

Importing ``sim`` imports nothing heavy, so ``sim.run`` can pick the OpenGL backend first.
"""
