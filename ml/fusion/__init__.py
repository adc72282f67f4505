"""Several frozen face networks fused into one embedding by a small trained head."""
