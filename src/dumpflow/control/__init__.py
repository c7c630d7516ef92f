"""The control plane: dump state, flow rules, Glue/ECS starts and endings (no handler code)."""
