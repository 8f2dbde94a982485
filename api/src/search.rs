//! The search index of this instance, kept in step with the database by
//! applying the registry change log in order.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cin_search_index::{CatalogueIndex, RegistryDoc, Synonyms, WriterBudget, SCHEMA_VERSION};

use crate::domain::facets;
use crate::domain::registry::{PublicationState, RegistryRecord};
use crate::error::ApiError;
use crate::store::registries::{self, RegistryRow};
use crate::store::{changes, Store, StoreError};

/// How many changes one step of catching up applies and commits.
const BATCH: i64 = 2_000;

pub struct SearchService {
    index: CatalogueIndex,
    /// One catch-up at a time; the others wait and then find nothing left to do.
    applying: Mutex<()>,
}

pub fn synonyms() -> Arc<Synonyms> {
    Arc::new(Synonyms::parse(include_str!(
        "../../seed-data/synonyms.txt"
    )))
}

/// `<data dir>/index/v<schema version>`: an index of an older schema is
/// left behind and this one starts empty, so it is rebuilt from the log.
pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("index").join(format!("v{SCHEMA_VERSION}"))
}

impl SearchService {
    pub fn open(data_dir: &Path, budget: WriterBudget) -> Result<SearchService, ApiError> {
        let root = data_dir.join("index");
        let current = index_dir(data_dir);
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                if entry.path() != current {
                    tracing::info!(path = %entry.path().display(), "removing an index of another schema version");
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let index = CatalogueIndex::open_or_create(&current, synonyms(), budget)
            .map_err(ApiError::internal)?;
        Ok(SearchService {
            index,
            applying: Mutex::new(()),
        })
    }

    pub fn index(&self) -> &CatalogueIndex {
        &self.index
    }

    /// Applies every change logged after the index's last commit. Returns the
    /// sequence the index now reflects.
    pub fn catch_up_blocking(&self, store: &Store) -> Result<i64, ApiError> {
        let _one_at_a_time = self.applying.lock().unwrap_or_else(|p| p.into_inner());
        let mut applied = self.index.applied().map_err(ApiError::internal)?;
        let mut batches = 0;
        loop {
            let batch = store.read_blocking(|conn| {
                changes::after(conn, applied, BATCH).map_err(StoreError::from)
            })?;
            let Some(&(last, _)) = batch.last() else {
                if batches > 1 {
                    self.merge_after_bulk();
                }
                return Ok(applied);
            };
            batches += 1;
            let mut codes: Vec<String> = batch.into_iter().map(|(_, code)| code).collect();
            codes.sort();
            codes.dedup();
            let rows = store.read_blocking(|conn| {
                registries::find_by_codes(conn, &codes).map_err(StoreError::from)
            })?;
            for code in &codes {
                match rows.iter().find(|r| &r.registry_code == code) {
                    Some(row) if row.publication_state == PublicationState::Published.as_str() => {
                        self.index
                            .upsert(&document(row)?)
                            .map_err(ApiError::internal)?;
                    }
                    _ => self.index.delete(code),
                }
            }
            crate::failpoint::hit("before-index-commit");
            self.index.commit(last).map_err(ApiError::internal)?;
            applied = last;
        }
    }

    pub async fn catch_up(self: &Arc<Self>, store: &Store) -> Result<i64, ApiError> {
        let (this, store) = (self.clone(), store.clone());
        match tokio::task::spawn_blocking(move || this.catch_up_blocking(&store)).await {
            Ok(result) => result,
            Err(e) => Err(ApiError::internal(e)),
        }
    }

    /// Rebuilds the index from the published registries, calling `progress`
    /// with the number indexed so far.
    pub fn rebuild_blocking(
        &self,
        store: &Store,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, ApiError> {
        let _one_at_a_time = self.applying.lock().unwrap_or_else(|p| p.into_inner());
        // Read the log position first: changes after it are applied again later, harmlessly.
        let position = store.read_blocking(|conn| changes::last(conn).map_err(StoreError::from))?;
        self.index.delete_all().map_err(ApiError::internal)?;
        let mut after = String::new();
        let mut done = 0;
        loop {
            let page = store.read_blocking(|conn| {
                registries::published_after(conn, &after, 1_000).map_err(StoreError::from)
            })?;
            let Some(last) = page.last() else { break };
            after = last.registry_code.clone();
            for row in &page {
                self.index
                    .upsert(&document(row)?)
                    .map_err(ApiError::internal)?;
            }
            done += page.len() as u64;
            progress(done);
        }
        self.index.commit(position).map_err(ApiError::internal)?;
        self.merge_after_bulk();
        Ok(done)
    }

    /// One segment after a bulk load, so searches do not pay for dozens. A
    /// failure (a background merge holding some of them) costs only speed.
    fn merge_after_bulk(&self) {
        if let Err(e) = self.index.merge_all() {
            tracing::warn!(error = %e, "could not merge the index's segments");
        }
    }
}

/// What the index needs of a registry row.
pub fn document(row: &RegistryRow) -> Result<RegistryDoc, ApiError> {
    let record: RegistryRecord = serde_json::from_str(&row.record).map_err(ApiError::internal)?;
    Ok(to_document(
        &record,
        &row.update_status,
        row.updated_at.and_utc().timestamp(),
    ))
}

pub fn to_document(record: &RegistryRecord, update_status: &str, updated_at: i64) -> RegistryDoc {
    let mut names = vec![record.name_ja.clone()];
    names.extend(record.name_en.clone());
    names.extend(record.acronym.clone());
    let mut texts = vec![record.summary_ja.clone()];
    texts.extend(record.summary_en.clone());
    for disease in &record.diseases {
        texts.push(disease.name_ja.clone());
        texts.extend(disease.name_en.clone());
    }
    texts.push(record.operator_name_ja.clone());
    texts.extend(record.operator_name_en.clone());
    RegistryDoc {
        code: record.registry_code.clone(),
        names,
        texts,
        icd10: record
            .diseases
            .iter()
            .flat_map(|d| d.icd10.iter().cloned())
            .collect(),
        facets: facets::values(record, update_status),
        start_year: record.start_year.map(i64::from),
        enrollment: record.enrollment_count,
        updated_at,
        sort_name: record
            .name_en
            .clone()
            .unwrap_or_else(|| record.name_ja.clone()),
    }
}
