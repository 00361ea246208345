//! `concierge agent create` and `concierge token create`: the accounts an operator makes
//! before anyone can sign in or call the API.

use crate::cli::{AgentCreateArgs, TokenCreateArgs};
use anyhow::{bail, Context};
use concierge_domain::access::{check_password_strength, Actor};
use concierge_store::access::NewAgent;
use concierge_store::Store;
use std::io::BufRead;

/// Creates an agent with the password read from `password_input`, and prints who was made.
pub async fn create_agent(
    store: &Store,
    args: AgentCreateArgs,
    password_input: impl BufRead,
) -> anyhow::Result<()> {
    let password = read_password(password_input)?;
    check_password_strength(&password)?;
    let password_hash = hash_password(&password)?;
    let role = args.role.into();
    let agent = store
        .create_agent(
            NewAgent {
                email: args.email,
                name: args.name,
                role,
                password_hash,
            },
            &Actor::System,
        )
        .await
        .context("cannot create the agent")?;
    println!(
        "created {} {} <{}> ({})",
        agent.role, agent.id, agent.email, agent.name
    );
    Ok(())
}

/// Creates an API token and prints it: a line saying what was made, then the token alone as
/// the last line, for scripts.
pub async fn create_token(store: &Store, args: TokenCreateArgs) -> anyhow::Result<()> {
    let (token, secret) =
        concierge_api::auth::issue_token(store, &args.name, args.role.into(), &Actor::System)
            .await
            .context("cannot create the token")?;
    println!(
        "created {} token {} \"{}\"; it is shown only once:",
        token.role, token.id, token.name
    );
    println!("{secret}");
    Ok(())
}

/// The first line of the input, without its line ending. Other whitespace is kept: it may be
/// part of the password.
fn read_password(mut input: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    if read == 0 {
        bail!("no password on standard input (--password-stdin reads its first line)");
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    Ok(password.to_owned())
}

/// An argon2id hash of the password (see [`concierge_api::auth::hash_password`]).
fn hash_password(password: &str) -> anyhow::Result<String> {
    concierge_api::auth::hash_password(password)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    use argon2::Argon2;

    #[test]
    fn the_password_is_the_first_line_without_its_line_ending() {
        assert_eq!(
            read_password(&b"correct horse\r\nsecond"[..]).unwrap(),
            "correct horse"
        );
        assert_eq!(
            read_password(&b" spaced out \n"[..]).unwrap(),
            " spaced out "
        );
        assert_eq!(read_password(&b"no newline"[..]).unwrap(), "no newline");
        assert!(read_password(&b""[..]).is_err());
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
    }
}
