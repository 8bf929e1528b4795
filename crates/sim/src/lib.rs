//! kefu's test world (virtual clock, simulated network, scripted phones).
