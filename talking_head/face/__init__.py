"""Face analysis, the face model (topology, pose, rig) and the texture sampler."""
