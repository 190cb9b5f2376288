"""The bundled example dataset and the script that writes it."""
