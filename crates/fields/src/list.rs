//! The field listing `lanner --list` prints: libs' `filter_fieldclass_info` layout, as `falco
//! --list` shows it, in text (the default), markdown, or names only.
//!
//! Text: a heading per class (`Field Class:`, `Description:`, `Event Sources:`, the labels
//! padded to 30 columns), then one line per field: the name padded to 30 columns, then the
//! description prefixed with the field's tags (`(ARG_REQUIRED,FILTER_ONLY)`), words wrapped
//! at 120 columns. `verbose` adds `(Type: ...)`. Fields flagged table-only are never listed;
//! deprecated ones only on request.

use std::io::{self, Write};

use crate::registry::{Class, FieldDef, epf, fields};

/// The column where descriptions start.
const RIGHT_BLOCK: usize = 30;
/// The width descriptions wrap at.
const WIDTH: usize = 120;

/// How to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListFormat {
    /// Headings and wrapped descriptions.
    #[default]
    Text,
    /// A markdown table per class.
    Markdown,
    /// One field name per line.
    Names,
}

/// What to list and how.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListOptions {
    /// The layout.
    pub format: ListFormat,
    /// Add each field's type (text layout).
    pub verbose: bool,
    /// Include deprecated fields.
    pub include_deprecated: bool,
}

/// Writes the listing of every field of the syscall source. `sources` are the event sources
/// the fields apply to, printed under each class (`syscall`).
pub fn write_list(out: &mut impl Write, sources: &[&str], opts: ListOptions) -> io::Result<()> {
    for class in Class::ALL {
        if class.hidden() {
            continue;
        }
        let members: Vec<&FieldDef> = fields()
            .iter()
            .filter(|f| f.class == class && !f.has(epf::PRINT_ONLY) && !f.has(epf::TABLE_ONLY))
            .collect();
        let shown: Vec<&FieldDef> = members
            .iter()
            .copied()
            .filter(|f| opts.include_deprecated || !f.has(epf::DEPRECATED))
            .collect();
        match opts.format {
            ListFormat::Names => {
                for f in &shown {
                    writeln!(out, "{}", f.name)?;
                }
            }
            // libs renders a class whose every field is deprecated as "", then a newline.
            _ if shown.is_empty() && !members.is_empty() => writeln!(out)?,
            ListFormat::Markdown => write_markdown(out, class, sources, &shown)?,
            ListFormat::Text => write_text(out, class, sources, &shown, opts.verbose)?,
        }
    }
    Ok(())
}

/// Writes the listing of the fields of loaded plugins, one class per plugin (named after it,
/// with its description and the event sources it extracts for; `all_sources` when it extracts
/// for every source). With `source`, only the plugins whose fields apply to it.
pub fn write_plugin_list(
    out: &mut impl Write,
    source: Option<&str>,
    all_sources: &[&str],
    opts: ListOptions,
) -> io::Result<()> {
    let fields = crate::registry::plugin_fields();
    let mut plugins: Vec<&str> = Vec::new();
    for f in &fields {
        if !plugins.contains(&f.plugin) && source.is_none_or(|s| f.applies_to(s)) {
            plugins.push(f.plugin);
        }
    }
    for plugin in plugins {
        let members: Vec<_> = fields.iter().filter(|f| f.plugin == plugin).collect();
        let shown: Vec<&FieldDef> = members
            .iter()
            .map(|f| f.def)
            .filter(|f| !f.has(epf::TABLE_ONLY))
            .filter(|f| opts.include_deprecated || !f.has(epf::DEPRECATED))
            .collect();
        let own: Vec<&str>;
        let sources = match members.first() {
            Some(f) if !f.sources.is_empty() => {
                own = f.sources.iter().map(String::as_str).collect();
                &own[..]
            }
            _ => all_sources,
        };
        let desc = members.first().map_or("", |f| f.plugin_desc);
        let heading = Heading { name: plugin, short_desc: "", description: desc };
        match opts.format {
            ListFormat::Names => {
                for f in &shown {
                    writeln!(out, "{}", f.name)?;
                }
            }
            ListFormat::Markdown => write_markdown_with(out, heading, sources, &shown)?,
            ListFormat::Text => write_text_with(out, heading, sources, &shown, opts.verbose)?,
        }
    }
    Ok(())
}

/// What a class's heading shows.
#[derive(Clone, Copy)]
struct Heading<'a> {
    name: &'a str,
    short_desc: &'a str,
    description: &'a str,
}

impl Heading<'static> {
    fn of(class: Class) -> Self {
        Heading {
            name: class.name(),
            short_desc: class.short_desc(),
            description: class.description(),
        }
    }
}

/// The tags libs shows before a description, sorted as libs' `std::set` sorts them.
fn tags(f: &FieldDef) -> Vec<&'static str> {
    let mut tags = Vec::new();
    for (flag, tag) in [
        (epf::FILTER_ONLY, "FILTER_ONLY"),
        (epf::DEPRECATED, "EPF_DEPRECATED"),
        (epf::NO_RHS, "EPF_NO_RHS"),
        (epf::NO_TRANSFORMER, "EPF_NO_TRANSFORMER"),
        (epf::IS_LIST, "EPF_IS_LIST"),
    ] {
        if f.has(flag) {
            tags.push(tag);
        }
    }
    if f.has(epf::ARG_REQUIRED) {
        tags.push("ARG_REQUIRED");
    } else if f.has(epf::ARG_ALLOWED) {
        tags.push("ARG_ALLOWED");
    }
    tags.sort_unstable();
    tags
}

fn type_name(f: &FieldDef) -> &'static str {
    f.ty.name()
}

fn write_text(
    out: &mut impl Write,
    class: Class,
    sources: &[&str],
    shown: &[&FieldDef],
    verbose: bool,
) -> io::Result<()> {
    write_text_with(out, Heading::of(class), sources, shown, verbose)
}

fn write_text_with(
    out: &mut impl Write,
    class: Heading<'_>,
    sources: &[&str],
    shown: &[&FieldDef],
    verbose: bool,
) -> io::Result<()> {
    writeln!(out, "-------------------------------")?;
    write!(out, "{:<RIGHT_BLOCK$}{}", "Field Class:", class.name)?;
    if !class.short_desc.is_empty() {
        write!(out, " ({})", class.short_desc)?;
    }
    writeln!(out)?;
    if !class.description.is_empty() {
        write!(out, "{:<RIGHT_BLOCK$}", "Description:")?;
        wrap(out, class.description)?;
        writeln!(out)?;
    }
    if !sources.is_empty() {
        write!(out, "{:<RIGHT_BLOCK$}", "Event Sources:")?;
        for s in sources {
            write!(out, "{s} ")?;
        }
        writeln!(out)?;
    }
    writeln!(out)?;
    for f in shown {
        if f.name.len() > RIGHT_BLOCK {
            writeln!(out, "{}", f.name)?;
            write!(out, "{:<RIGHT_BLOCK$}", " ")?;
        } else {
            write!(out, "{:<RIGHT_BLOCK$}", f.name)?;
        }
        let mut desc = String::new();
        if verbose {
            desc.push_str("(Type: ");
            desc.push_str(type_name(f));
            desc.push_str(") ");
        }
        let tags = tags(f);
        if !tags.is_empty() {
            desc.push('(');
            desc.push_str(&tags.join(","));
            desc.push_str(") ");
        }
        desc.push_str(f.desc);
        wrap(out, &desc)?;
        writeln!(out)?;
    }
    // libs' listing ends each class with the newline `printf("%s\n")` adds.
    writeln!(out)
}

/// Writes the words of `text`, each followed by a space, starting a new line indented to the
/// right block whenever the next word would pass the width.
fn wrap(out: &mut impl Write, text: &str) -> io::Result<()> {
    let mut len = 0;
    for word in text.split_whitespace() {
        let wordlen = word.len() + 1;
        if len + wordlen <= WIDTH - RIGHT_BLOCK {
            len += wordlen;
        } else {
            writeln!(out)?;
            write!(out, "{:<RIGHT_BLOCK$}", " ")?;
            len = wordlen;
        }
        write!(out, "{word} ")?;
    }
    Ok(())
}

fn write_markdown(
    out: &mut impl Write,
    class: Class,
    sources: &[&str],
    shown: &[&FieldDef],
) -> io::Result<()> {
    write_markdown_with(out, Heading::of(class), sources, shown)
}

fn write_markdown_with(
    out: &mut impl Write,
    class: Heading<'_>,
    sources: &[&str],
    shown: &[&FieldDef],
) -> io::Result<()> {
    writeln!(out, "## Field Class: {}\n", class.name)?;
    if !class.description.is_empty() {
        writeln!(out, "{}\n", class.description)?;
    }
    if !sources.is_empty() {
        write!(out, "Event Sources: ")?;
        for s in sources {
            write!(out, "{s} ")?;
        }
        writeln!(out, "\n")?;
    }
    writeln!(out, "Name | Type | Description")?;
    writeln!(out, ":----|:-----|:-----------")?;
    for f in shown {
        if f.has(epf::IS_LIST) {
            writeln!(out, "`{}` | LIST({}) | {}", f.name, type_name(f), f.desc)?;
        } else {
            writeln!(out, "`{}` | {} | {}", f.name, type_name(f), f.desc)?;
        }
    }
    writeln!(out)
}
