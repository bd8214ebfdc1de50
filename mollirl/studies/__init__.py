"""Built-in Optuna studies (plugin subpackage). Importing registers them; Optuna is imported lazily."""
