"""Channel adapters: one module per provider, translating its format to routerd messages."""
