"""Thin routers: parse, call the domain, render."""
