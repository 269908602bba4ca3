//! Section 12, research phenomena: lottery tickets, grokking, feature learning against
//! lazy training (muP, the NTK parameterisation and the lazy scale of Chizat et al.).

pub mod feature_learning_mup;
pub mod grokking;
pub mod lottery_tickets;
