//! What every handler can reach: the store, the directory of pools, and the clock.

use std::sync::Arc;

use userpool_core::directory::Directory;
use userpool_core::store::Store;
use userpool_core::time::Clock;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
}
