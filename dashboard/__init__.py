"""The Dash dashboard: layout, callbacks and the plain functions behind them."""
