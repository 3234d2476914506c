"""Parking layouts for old compounds (老旧小区停车规划): generate, check, store, compare, export."""
