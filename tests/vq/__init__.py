"""Tests of motion_r1_verl.vq."""
