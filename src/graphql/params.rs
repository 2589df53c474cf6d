//! The GraphQL-over-HTTP request parameters (`query`, `operationName`, `variables`, `extensions`), read
//! strictly from a JSON body or a GET query string: a parameter of the wrong type makes the request
//! malformed, which the spec answers with 400 before anything is parsed as GraphQL.

use async_graphql::{Request, Variables};
use serde_json::{Map, Value};

/// A well-formed request's parameters (`null` counts as absent, as the spec says).
#[derive(Debug, PartialEq)]
pub(crate) struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

/// Why a request is not a well-formed GraphQL-over-HTTP request; the message is sent to the client.
#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum ParamsError {
    /// The body does not parse as JSON (the parser's position details are not sent).
    #[error("the body is not JSON")]
    NotJson,
    /// A JSON array: one operation per request only.
    #[error("batched operations are not supported")]
    Batch,
    /// JSON, but not an object.
    #[error("the body is not a GraphQL request object")]
    NotObject,
    /// `query` is missing or null.
    #[error("the `query` parameter is required")]
    MissingQuery,
    /// A parameter that must be a string is not.
    #[error("the `{0}` parameter must be a string")]
    NotString(&'static str),
    /// A parameter that must be a map is not (in a GET: is not a JSON object).
    #[error("the `{0}` parameter must be a JSON object")]
    NotMap(&'static str),
    /// A GET parameter given twice: which one was meant is a guess.
    #[error("the `{0}` parameter is given more than once")]
    Repeated(&'static str),
}

impl Params {
    /// Reads a JSON body: an object whose `query` is a string, `operationName` a string, `variables`
    /// and `extensions` objects. Other members are ignored (the spec reserves them).
    pub(crate) fn from_json(body: &[u8]) -> Result<Params, ParamsError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| ParamsError::NotJson)?;
        let mut object = match value {
            Value::Object(object) => object,
            Value::Array(_) => return Err(ParamsError::Batch),
            _ => return Err(ParamsError::NotObject),
        };
        let query = match object.remove("query") {
            None | Some(Value::Null) => return Err(ParamsError::MissingQuery),
            Some(Value::String(query)) => query,
            Some(_) => return Err(ParamsError::NotString("query")),
        };
        let operation_name = match object.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name),
            Some(_) => return Err(ParamsError::NotString("operationName")),
        };
        let variables = map_member(object.remove("variables"), "variables")?;
        let extensions = map_member(object.remove("extensions"), "extensions")?;
        Ok(Params { query, operation_name, variables, extensions }.normalized())
    }

    /// Reads a GET query string (`application/x-www-form-urlencoded`): `variables` and `extensions` are
    /// JSON text. Other names are ignored; a name given twice is refused.
    pub(crate) fn from_query(query_string: &str) -> Result<Params, ParamsError> {
        let mut found: [Option<String>; 4] = Default::default();
        for (name, value) in form_urlencoded::parse(query_string.as_bytes()) {
            let Some(i) = NAMES.iter().position(|n| *n == name) else { continue };
            if found[i].replace(value.into_owned()).is_some() {
                return Err(ParamsError::Repeated(NAMES[i]));
            }
        }
        let [query, operation_name, variables, extensions] = found;
        let json = |text: Option<String>, name| match text {
            None => Ok(None),
            Some(text) => map_member(Some(serde_json::from_str(&text).map_err(|_| ParamsError::NotMap(name))?), name),
        };
        Ok(Params {
            query: query.ok_or(ParamsError::MissingQuery)?,
            operation_name,
            variables: json(variables, "variables")?,
            extensions: json(extensions, "extensions")?,
        }
        .normalized())
    }

    /// The request async-graphql executes.
    pub(crate) fn into_request(self) -> Request {
        let mut request = Request::new(self.query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables {
            request = request.variables(Variables::from_json(Value::Object(variables)));
        }
        if let Some(extensions) = self.extensions {
            request.extensions = async_graphql::Extensions(
                extensions
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, async_graphql::Value::from_json(v).ok()?)))
                    .collect(),
            );
        }
        request
    }

    /// An empty `operationName` is the same as none (the spec says so for GET; a POST means the same).
    fn normalized(mut self) -> Params {
        self.operation_name = self.operation_name.filter(|name| !name.is_empty());
        self
    }
}

/// The parameter names, in the order `from_query` collects them.
const NAMES: [&str; 4] = ["query", "operationName", "variables", "extensions"];

/// A member that must be a map when present and not null.
fn map_member(value: Option<Value>, name: &'static str) -> Result<Option<Map<String, Value>>, ParamsError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(ParamsError::NotMap(name)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: Value) -> Result<Params, ParamsError> {
        Params::from_json(v.to_string().as_bytes())
    }

    #[test]
    fn a_full_json_request_is_read() {
        let p = body(json!({ "query": "query Q { me { id } }", "operationName": "Q", "variables": { "a": 1 },
            "extensions": { "x": true }, "future": 1 }))
        .unwrap();
        assert_eq!(p.query, "query Q { me { id } }");
        assert_eq!(p.operation_name.as_deref(), Some("Q"));
        assert_eq!(p.variables, Some(json!({ "a": 1 }).as_object().unwrap().clone()));
        assert_eq!(p.extensions, Some(json!({ "x": true }).as_object().unwrap().clone()));
    }

    #[test]
    fn null_or_empty_optional_parameters_count_as_absent() {
        let p = body(json!({ "query": "{ me { id } }", "operationName": "", "variables": null, "extensions": null }))
            .unwrap();
        assert_eq!((p.operation_name, p.variables, p.extensions), (None, None, None));
    }

    #[test]
    fn wrongly_typed_json_parameters_are_named() {
        for bad in [json!({ "obj": "ect" }), json!(0), json!(false), json!(["array"])] {
            assert_eq!(body(json!({ "query": bad })), Err(ParamsError::NotString("query")));
            assert_eq!(
                body(json!({ "query": "{ a }", "operationName": bad })),
                Err(ParamsError::NotString("operationName"))
            );
        }
        for bad in [json!("string"), json!(0), json!(false), json!(["array"])] {
            assert_eq!(body(json!({ "query": "{ a }", "variables": bad })), Err(ParamsError::NotMap("variables")));
            assert_eq!(body(json!({ "query": "{ a }", "extensions": bad })), Err(ParamsError::NotMap("extensions")));
        }
    }

    #[test]
    fn bodies_that_are_not_one_request_object_are_refused() {
        assert_eq!(Params::from_json(b"{ \"not a JSON"), Err(ParamsError::NotJson));
        assert_eq!(Params::from_json(b""), Err(ParamsError::NotJson));
        assert_eq!(body(json!([{ "query": "{ a }" }])), Err(ParamsError::Batch));
        assert_eq!(body(json!("{ a }")), Err(ParamsError::NotObject));
        assert_eq!(body(json!({ "qeury": "{ a }" })), Err(ParamsError::MissingQuery));
        assert_eq!(body(json!({ "query": null })), Err(ParamsError::MissingQuery));
    }

    #[test]
    fn a_get_query_string_is_read_with_json_variables() {
        let p = Params::from_query("query=query%20T(%24n%3AString!)%7Ba%7D&variables=%7B%22n%22%3A%22x%22%7D&other=1")
            .unwrap();
        assert_eq!(p.query, "query T($n:String!){a}");
        assert_eq!(p.variables, Some(json!({ "n": "x" }).as_object().unwrap().clone()));
        assert_eq!(Params::from_query("query=%7Ba%7D&operationName=").unwrap().operation_name, None);
        assert_eq!(
            Params::from_query("query=%7Ba%7D&operationName=null").unwrap().operation_name.as_deref(),
            Some("null")
        );
    }

    #[test]
    fn hostile_get_query_strings_are_refused_by_name() {
        assert_eq!(Params::from_query(""), Err(ParamsError::MissingQuery));
        assert_eq!(Params::from_query("query=%7Ba%7D&query=%7Bb%7D"), Err(ParamsError::Repeated("query")));
        assert_eq!(Params::from_query("query=%7Ba%7D&variables=%7Bnope"), Err(ParamsError::NotMap("variables")));
        assert_eq!(Params::from_query("query=%7Ba%7D&variables=%5B1%5D"), Err(ParamsError::NotMap("variables")));
        assert_eq!(Params::from_query("query=%7Ba%7D&extensions=7"), Err(ParamsError::NotMap("extensions")));
        assert_eq!(Params::from_query("query=%7Ba%7D&variables=null").unwrap().variables, None);
    }

    #[test]
    fn the_request_carries_every_parameter() {
        let r = body(json!({ "query": "query Q($a: Int) { x }", "operationName": "Q", "variables": { "a": 1 },
            "extensions": { "e": "v" } }))
        .unwrap()
        .into_request();
        assert_eq!(r.operation_name.as_deref(), Some("Q"));
        assert_eq!(r.variables.into_value().into_json().unwrap(), json!({ "a": 1 }));
        assert_eq!(r.extensions.0.get("e"), Some(&async_graphql::Value::from("v")));
    }
}
