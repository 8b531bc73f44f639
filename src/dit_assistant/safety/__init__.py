"""Safety: the reviewed risk phrases, the NLU component that applies them, helpline presets."""
