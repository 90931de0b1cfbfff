"""What Chalice cannot express, generated as a template merged into ``chalice package``."""
